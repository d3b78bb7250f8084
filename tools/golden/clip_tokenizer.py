#!/usr/bin/env python3
"""CLIP tokenizer goldens: the real CLIP vocabulary and reference token ids.

1. Builds vocab.json + merges.txt from openai's `bpe_simple_vocab_16e6.txt.gz` (shipped inside the
   open_clip_torch wheel) exactly as openai/CLIP simple_tokenizer.py constructs its vocabulary (the files
   HF hosts in tokenizer/ folders), and writes them gzipped to tests/data/clip/.
2. Tokenizes >= 200 prompts (punctuation, digits, accents, emoji, apostrophes, over-long) with
   transformers' CLIPTokenizer (pad "<|endoftext|>" as SD 1.5, and pad "!" as SD 2.x) and writes
   tests/data/clip/tokenizer_golden.json.
3. Also records the ids of openai's own tokenizer (clip/simple_tokenizer.py, reproduced below verbatim in
   substance: ftfy.fix_text + html.unescape twice + whitespace collapse + str.lower + the regex with the
   special tokens), which differs from transformers on ftfy/HTML effects (`openai_ids`).

    tools/golden/.venv/bin/python tools/golden/clip_tokenizer.py
"""
import gzip
import io
import json
import os
import random
import shutil
import tempfile

import transformers
from transformers import CLIPTokenizer

OUT = os.path.join("tests", "data", "clip")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def bpe_file():
    import importlib.util

    spec = importlib.util.find_spec("open_clip")
    path = os.path.join(os.path.dirname(spec.origin), "bpe_simple_vocab_16e6.txt.gz")
    assert os.path.exists(path), path
    return path


def build_vocab(bpe_path):
    # openai/CLIP clip/simple_tokenizer.py SimpleTokenizer.__init__
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = merges[1 : 49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    for merge in merges:
        vocab.append("".join(merge))
    vocab.extend(["<|startoftext|>", "<|endoftext|>"])
    encoder = dict(zip(vocab, range(len(vocab))))
    assert len(encoder) == 49408, len(encoder)
    return encoder, merges


def write_gz(path, text):
    # mtime=0 and no file name: the bytes depend on the content only.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(text.encode("utf-8"))


class OpenAISimpleTokenizer:
    """openai/CLIP clip/simple_tokenizer.py SimpleTokenizer.encode (MIT), on the vocabulary built above."""

    def __init__(self, encoder, merges):
        import regex

        self.byte_encoder = bytes_to_unicode()
        self.encoder = encoder
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = {(a, b) for a, b in zip(word, word[1:])}
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = {(a, b) for a, b in zip(word, word[1:])}
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        import html

        import ftfy
        import regex

        text = ftfy.fix_text(text)
        text = html.unescape(html.unescape(text)).strip()
        text = regex.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for token in regex.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return ids


def prompts():
    fixed = [
        "a photograph of an astronaut riding a horse",
        "A Photograph Of An ASTRONAUT Riding A Horse",
        "",
        "   ",
        "  leading and trailing spaces  ",
        "tabs\tand\nnew\r\nlines\u00a0and\u2003em spaces",
        "it's a cat's toy; don't, won't, we're, they've, I'm, you'll, he'd",
        "IT'S DON'T WE'RE THEY'VE I'M YOU'LL HE'D",
        "rock'n'roll ''s '''quoted''' 'single' \"double\"",
        "it\u2019s \u201ccurly\u201d quotes \u2018here\u2019",
        "hello, world! how are you? fine... thanks!!! (really) [yes] {no} <maybe>",
        "a--b__c~~d@@e##f$$g%%h^^i&&j**k++l==m||n\\\\o//p",
        "1024x768 resolution, 4k, 8K, 16:9, f/1.8, 50mm, iso 100, 1/250s",
        "3.14159 2,718 1e-5 -42 +7 100% $99.99 #1 no.5",
        "year 1999 and 2024; 0123456789",
        "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve Zo\u00eb, pi\u00f1ata, S\u00e3o Paulo",
        "cafe\u0301 (decomposed e + combining acute)",
        "Stra\u00dfe in M\u00fcnchen, \u00c6r\u00f8 and \u00c5land, \u0141\u00f3d\u017a, \u010cesk\u00fd Krumlov",
        "\u0130stanbul and \u0131\u015f\u0131k, DIYARBAKIR",
        "\u039f\u0394\u039f\u03a3 \u03a3\u039f\u03a6\u0399\u0391 \u03ba\u03cc\u03c3\u03bc\u03bf\u03c2",
        "\u041c\u043e\u0441\u043a\u0432\u0430 \u0437\u0438\u043c\u043e\u0439, \u041a\u0440\u0435\u043c\u043b\u044c",
        "\u6771\u4eac\u30bf\u30ef\u30fc at night, \u5bcc\u58eb\u5c71",
        "\uc11c\uc6b8 \ud48d\uacbd, \ud55c\uad6d\uc5b4",
        "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u092d\u093e\u0930\u0924",
        "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u0e1b\u0e23\u0e30\u0e40\u0e17\u0e28\u0e44\u0e17\u0e22",
        "a cat \U0001f431 in space \U0001f680\U0001f680 with stars \u2728\u2b50",
        "astronaut \U0001f469\u200d\U0001f680 family \U0001f468\u200d\U0001f469\u200d\U0001f467 flag \U0001f1ef\U0001f1f5",
        "thumbs \U0001f44d\U0001f3fd and hearts \u2764\ufe0f\U0001f499",
        "\uff21\uff22\uff23 fullwidth \uff11\uff12\uff13 and \u3000ideographic space",
        "\ufb01ne \ufb02ower ligatures",
        "superscripts x\u00b2 y\u00b3, fractions \u00bd \u00be, roman \u2165 \u216b, circled \u2460\u2461",
        "arabic-indic digits \u0661\u0662\u0663 and devanagari \u0967\u0968",
        "math \u2211 \u222b \u221e \u2248 \u2260 \u00b1 \u00d7 \u00f7 \u2192 \u21d2",
        "currency \u20ac5 \u00a310 \u00a5100 \u20b9 \u20bf",
        "html &amp; entities &lt;b&gt; &quot;x&quot; &#39;y&#39;",
        "mixed_case_snake and camelCaseWords and kebab-case-words",
        "email me@example.com url https://example.com/a?b=c&d=e#f",
        "masterpiece, best quality, ultra-detailed, (photorealistic:1.4), [[blue eyes]], ((sharp focus))",
        "trending on artstation, by greg rutkowski and alphonse mucha, octane render, unreal engine 5",
        "a painting of a fox in the style of starry night",
        "<|startoftext|>a photo<|endoftext|>",
        "what?<|endoftext|>! and <|ENDOFTEXT|> upper, <|endoftext",
        "&amp;amp; &#233;t&#xE9; &nbsp;x &amp &lt3 &copy; &unknown; a&b <b>&amp;</b>",
        "\u039f\u0394\u039f\u03a3. \u03a3\u0391\u03a3 \u03c3\u03a3 \u03b1\u03a3\u03b1",
        "\u1e9e stra\u00dfe \u0130i \ufb00 \ufb06 \u01c4 \uff01\uff1f\uff5e \uff76\uff9e",
        "&#x1F600; smile &#128512; &#0; &#99999999; &#x7F; &#39;s &#x27;ll &amp;#233;",
        "line\u2028sep\u2029para\u0085nel\x0bvt\x0cff",
        "c1 \x80uro \x93quoted\x94 \x81x \x96 dash &#150; &#x85; \x1b[31mred\x1b[0m \x00nul\x7fdel \ufeffbom",
        "\uff28\uff25\uff2c\uff2c\uff2f\u3000\uff57\uff4f\uff52\uff4c\uff44 \ufb01\ufb02 \u2018quoted\u2019 \u201elow\u201c \u02bcokina",
        "wow!!! really?! yes!,! hello!world",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "lololololololololololololololol hahahahahahaha zzzzzzzz",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "the the the the the",
        "!!!???...,,,;;;:::",
        "\u00bfqu\u00e9? \u00a1s\u00ed! \u00abguillemets\u00bb \u201edeutsch\u201c",
        "soft\u00adhyphen zero\u200bwidth non\u200cjoiner",
        "x" * 300,
        " ".join(["word"] * 74),
        " ".join(["word"] * 75),
        " ".join(["word"] * 76),
        " ".join(["word"] * 77),
        " ".join(["a"] * 200),
        ", ".join(["highly detailed"] * 40),
        "1 2 3 4 5 6 7 8 9 0 " * 10,
        "\U0001f600" * 60,
    ]
    rng = random.Random(1234)
    words = ("a photo of an the cat dog horse astronaut castle forest river mountain sunset portrait oil painting "
             "watercolor cyberpunk city neon rain night golden hour bokeh cinematic lighting highly detailed "
             "sharp focus 8k octane render dramatic clouds old man young woman robot dragon medieval knight "
             "caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade \u00fcber Z\u00fcrich \u00e5ngstr\u00f6m "
             "pi\u00f1a co\u00f6perate \u00e9l\u00e8ve").split()
    extras = ["it's", "don't", "we're", "I'll", "she'd", "they've", "I'm", "o'clock", "rock'n'roll",
              "\U0001f431", "\U0001f525", "\u2728", "\U0001f308", "\U0001f469\u200d\U0001f3a8", "\u00e9\u00e9",
              "1920", "3.5", "50%", "#42", "x2", "v1.5", "24/7", "(", ")", "[", "]", ":1.2", "--", "...", "!",
              "?", ",", ";", "&", "'", "\"", "\u00b0C", "\u00bd", "DSLR", "HDR", "ISO", "RAW"]
    random_prompts = []
    for i in range(170):
        n = rng.randint(1, 30) if i % 10 else rng.randint(60, 120)  # every 10th is over-long
        toks = []
        for _ in range(n):
            t = rng.choice(words) if rng.random() < 0.7 else rng.choice(extras)
            if rng.random() < 0.15:
                t = t.upper() if rng.random() < 0.5 else t.capitalize()
            toks.append(t)
        sep = rng.choice([" ", " ", " ", ", ", "  ", "\t"])
        random_prompts.append(sep.join(toks))
    return fixed + random_prompts


def main():
    os.makedirs(OUT, exist_ok=True)
    encoder, merges = build_vocab(bpe_file())
    vocab_text = json.dumps(encoder, ensure_ascii=False)
    merges_text = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    write_gz(os.path.join(OUT, "vocab.json.gz"), vocab_text)
    write_gz(os.path.join(OUT, "merges.txt.gz"), merges_text)

    tmp = tempfile.mkdtemp()
    try:
        with open(os.path.join(tmp, "vocab.json"), "w", encoding="utf-8") as f:
            f.write(vocab_text)
        with open(os.path.join(tmp, "merges.txt"), "w", encoding="utf-8") as f:
            f.write(merges_text)
        tok = CLIPTokenizer.from_pretrained(tmp)
        tok_bang = CLIPTokenizer.from_pretrained(tmp, pad_token="!")
    finally:
        shutil.rmtree(tmp)
    assert tok.pad_token_id == 49407 and tok_bang.pad_token_id == 0

    openai_tok = OpenAISimpleTokenizer(encoder, merges)

    cases = []
    agree = 0
    disagree = []
    for i, p in enumerate(prompts()):
        ids = tok(p, add_special_tokens=False)["input_ids"]
        padded = tok(p, padding="max_length", max_length=77, truncation=True)["input_ids"]
        case = {"prompt": p, "ids": ids, "padded": padded}
        if i % 8 == 0 or "!" in p:  # SD 2.x pads with "!", which then splits off as a special token
            case["padded_bang"] = tok_bang(p, padding="max_length", max_length=77, truncation=True)["input_ids"]
        case["openai_ids"] = openai_tok.encode(p)
        cases.append(case)
        if case["openai_ids"] == ids:
            agree += 1
        else:
            disagree.append(p)
    with open(os.path.join(OUT, "tokenizer_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": f"transformers {transformers.__version__} CLIPTokenizer", "cases": cases}, f,
                  ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} prompts; over-long (> 75 ids): {sum(len(c['ids']) > 75 for c in cases)}")
    print(f"openai SimpleTokenizer (ftfy + html.unescape) agrees with transformers on {agree}/{len(cases)}; "
          "differs on:")
    for p in disagree:
        print("   ", repr(p[:80]))
    for name in ("vocab.json.gz", "merges.txt.gz", "tokenizer_golden.json"):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
