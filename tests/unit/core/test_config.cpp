// Config: each key declared once (member default, help, constraint) drives parsing, the load-time checks,
// --help and the resolved text; checked here against hand-written expectations.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dagalign/core/config.h"
#include "dagalign/core/error.h"

namespace dagalign {
namespace {

enum class Colour { kRed, kGreen };

struct Settings {
  int steps = 10;
  double lr = 1e-3, fraction = 0;
  Colour colour = Colour::kGreen;
  std::string schedule = "linear";
  std::vector<int64_t> channels = {8, 16};
  std::vector<double> weights = {0.5, 1};
  std::vector<std::string> targets = {"to_q", "to_k"};
  void add_to(Config& c) {
    c.add("a.steps", &steps, "steps", positive())
        .add("a.lr", &lr, "learning rate", positive())
        .add("a.fraction", &fraction, "a share", in_range(0, 1, true))
        .add("a.colour", &colour, {{"red", Colour::kRed}, {"green", Colour::kGreen}}, "colour")
        .add("a.schedule", &schedule, std::vector<std::string>{"linear", "scaled_linear"}, "schedule")
        .add("b.channels", &channels, "channels", positive())
        .add("b.weights", &weights, "weights", at_least(0))
        .add("b.targets", &targets, "layers");
  }
};

Settings parse(const std::string& ini) {
  Settings s;
  Config c("test");
  s.add_to(c);
  c.parse_ini_text(ini, "test.ini");
  return s;
}

std::string error_of(const std::string& ini) {
  try {
    parse(ini);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, DefaultsAreTheMembersInitialValues) {
  Settings s = parse("");
  EXPECT_EQ(s.steps, 10);
  EXPECT_EQ(s.colour, Colour::kGreen);
  EXPECT_EQ(s.channels, (std::vector<int64_t>{8, 16}));
  Settings d;
  Config c("test");
  d.add_to(c);
  const std::string help = c.help();
  for (const char* shown : {"a.steps arg (=10)", "(> 0)", "in [0, 1)", "(red | green)", "a.colour arg (=green)",
                            "(linear | scaled_linear)", "b.channels arg (=8,16)", "comma list, each > 0",
                            "b.targets arg (=to_q,to_k)"})
    EXPECT_NE(help.find(shown), std::string::npos) << shown << "\n" << help;
}

TEST(Config, TypedValuesParseAndPrintBack) {
  const std::string ini =
      "[a]\nsteps = 3\nlr = 0.25\nfraction = 0.5\ncolour = red\nschedule = scaled_linear\n"
      "[b]\nchannels = 4, 32,64\nweights = 0,2.5\ntargets = to_v\n";
  Settings s = parse(ini);
  EXPECT_EQ(s.steps, 3);
  EXPECT_EQ(s.lr, 0.25);
  EXPECT_EQ(s.colour, Colour::kRed);
  EXPECT_EQ(s.schedule, "scaled_linear");
  EXPECT_EQ(s.channels, (std::vector<int64_t>{4, 32, 64}));
  EXPECT_EQ(s.weights, (std::vector<double>{0, 2.5}));
  EXPECT_EQ(s.targets, (std::vector<std::string>{"to_v"}));
  // the resolved text names every value as written, and parses back to the same settings
  Settings t;
  Config c("test");
  t.add_to(c);
  c.parse_ini_text(ini, "test.ini");
  const std::string resolved = c.resolved();
  for (const char* line : {"colour = red", "channels = 4,32,64", "weights = 0,2.5", "targets = to_v"})
    EXPECT_NE(resolved.find(line), std::string::npos) << line << "\n" << resolved;
  Settings back = parse(resolved);
  EXPECT_EQ(back.colour, Colour::kRed);
  EXPECT_EQ(back.channels, s.channels);
  EXPECT_EQ(back.weights, s.weights);
  EXPECT_EQ(back.lr, s.lr);
}

TEST(Config, OutOfBoundsAndUnknownValuesNameTheKey) {
  struct Case {
    const char* ini;
    std::vector<const char*> expected;
  };
  const std::vector<Case> cases = {
      {"[a]\nsteps = 0\n", {"a.steps must be > 0", "found 0"}},
      {"[a]\nlr = -1\n", {"a.lr must be > 0"}},
      {"[a]\nlr = nan\n", {"a.lr", "not a finite number"}},
      {"[a]\nlr = inf\n", {"a.lr", "not a finite number"}},
      {"[a]\nfraction = 1\n", {"a.fraction must be in [0, 1)", "found 1"}},
      {"[a]\ncolour = blue\n", {"a.colour", "'blue'", "red | green"}},
      {"[a]\nschedule = cosine\n", {"a.schedule", "'cosine'", "linear | scaled_linear"}},
      {"[b]\nchannels = 8,x\n", {"b.channels", "'x'", "not an integer"}},
      {"[b]\nchannels = 8,2.5\n", {"b.channels", "'2.5'"}},
      {"[b]\nchannels = 8,-4\n", {"b.channels", "-4", "> 0"}},
      {"[b]\nweights = 1,nan\n", {"b.weights", "nan"}},
      {"[b]\nweights = 1,-0.5\n", {"b.weights", "-0.5", ">= 0"}},
  };
  for (const auto& c : cases) {
    const std::string m = error_of(c.ini);
    for (const char* e : c.expected) EXPECT_NE(m.find(e), std::string::npos) << c.ini << " -> " << m;
  }
}

TEST(Config, BoundsDescribeAndContain) {
  EXPECT_EQ(positive().describe(), "> 0");
  EXPECT_EQ(at_least(1).describe(), ">= 1");
  EXPECT_EQ(in_range(0, 9).describe(), "in [0, 9]");
  EXPECT_FALSE(positive().contains(0));
  EXPECT_TRUE(positive().contains(1e-300));
  EXPECT_TRUE(in_range(0, 1, true).contains(0));
  EXPECT_FALSE(in_range(0, 1, true).contains(1));
  EXPECT_TRUE(in_range(0, 9).contains(9));
}

}  // namespace
}  // namespace dagalign
