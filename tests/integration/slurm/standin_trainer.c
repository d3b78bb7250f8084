/* A stand-in for "dagalign train" that obeys the same preemption/resume contract, so that the Slurm
 * harness (the sbatch templates, slurm/requeue-step.sh, tests/integration/slurm/preempt-test.sh) is tested on its
 * own, independently of the real trainer. It is a legitimate harness test, not a stub of the trainer:
 * its "model" is one 64-bit state, advanced once per step by a deterministic MPI reduction, so a run
 * that skips, repeats or restarts a step from a wrong checkpoint ends in a different final state.
 *
 *   standin_trainer train --config FILE.ini [--section.key value]...
 *
 * Keys (INI [section] key = value, or --section.key value; the command line wins):
 *   run.dir             run directory (required)
 *   run.resume          auto (default): resume from the newest valid checkpoint in run.dir/checkpoints/;
 *                       never: start from step 0
 *   run.preempt_signal  USR2 (default) or TERM
 *   standin.steps       number of steps (default 20)
 *   standin.step_ms     sleep per step, standing in for the work (default 200)
 *   standin.ckpt_every  checkpoint every this many steps (default 5)
 *   standin.ignore_term_on_stop  true (default): ignore SIGTERM once the ranks agreed to stop
 *   standin.exit_skew_ms  rank 1 exits this much later than rank 0 after a preemption checkpoint
 *                       (default 0); with ignore_term_on_stop = false this reproduces the
 *                       kill-on-bad-exit race that slurm/requeue-step.sh must survive
 * Contract (the one the trainer follows):
 *   - the signal handler only sets a flag; at every step boundary the ranks all-reduce (MAX) the flag;
 *     when set, they write a checkpoint of the completed steps and exit with 75 (EX_TEMPFAIL), ignoring
 *     SIGTERM from then on (srun --kill-on-bad-exit terminates the other tasks as soon as the first exits
 *     non-zero, which would turn their 75 into "killed by SIGTERM");
 *   - rank 0 appends {"epoch": k} to run.dir/metrics.jsonl after step k (one "epoch" per step), so a
 *     resumed run that redid or skipped steps shows it there;
 *   - at the end rank 0 writes run.dir/params-final.safetensors (here: the state as text, the file name
 *     of the contract so that the harness compares the same path with cmp); exit 0;
 *   - errors exit 1, configuration errors 2; the world size must equal SLURM_NTASKS when that is set.
 * Checkpoints: run.dir/checkpoints/step-NNNNNN.txt with "step <k>\nstate <hex>\nend\n", written by
 * rank 0 to a temporary file and renamed (atomic), so a checkpoint without "end" is invalid. */
#include <mpi.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EX_CONFIG = 2, EX_TEMPFAIL = 75, MAX_KEYS = 64 };

static volatile sig_atomic_t g_stop_requested = 0;
static void on_preempt(int sig) { (void)sig; g_stop_requested = 1; }

static int g_rank = 0;
static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "standin rank %d error: ", g_rank);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  MPI_Abort(MPI_COMM_WORLD, code);
  exit(code);
}

/* ---- configuration: "section.key" -> value, INI first, command line overrides ---- */
static char g_keys[MAX_KEYS][64], g_vals[MAX_KEYS][512];
static int g_nkeys = 0;
static const char *known[] = {"run.dir", "run.resume", "run.preempt_signal", "standin.steps",
                              "standin.step_ms", "standin.ckpt_every", "standin.ignore_term_on_stop",
                              "standin.exit_skew_ms", NULL};

static void set_key(const char *key, const char *val, const char *source) {
  int ok = 0;
  for (int i = 0; known[i]; ++i) ok |= strcmp(known[i], key) == 0;
  if (!ok) die(EX_CONFIG, "unknown key '%s' (from %s)", key, source);
  for (int i = 0; i < g_nkeys; ++i)
    if (strcmp(g_keys[i], key) == 0) { snprintf(g_vals[i], sizeof g_vals[i], "%s", val); return; }
  if (g_nkeys == MAX_KEYS) die(EX_CONFIG, "too many keys");
  snprintf(g_keys[g_nkeys], sizeof g_keys[0], "%s", key);
  snprintf(g_vals[g_nkeys], sizeof g_vals[0], "%s", val);
  ++g_nkeys;
}
static const char *get_key(const char *key, const char *def) {
  for (int i = 0; i < g_nkeys; ++i)
    if (strcmp(g_keys[i], key) == 0) return g_vals[i];
  return def;
}
static long get_long(const char *key, long def) {
  const char *v = get_key(key, NULL);
  if (!v) return def;
  char *end;
  long x = strtol(v, &end, 10);
  if (*v == 0 || *end != 0 || x < 0) die(EX_CONFIG, "key %s: '%s' is not a non-negative integer", key, v);
  return x;
}
static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') ++s;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = 0;
  return s;
}
static void read_ini(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die(EX_CONFIG, "config file '%s': %s", path, strerror(errno));
  char line[1024], section[64] = "", key[160];
  while (fgets(line, sizeof line, f)) {
    char *s = trim(line);
    if (*s == 0 || *s == '#' || *s == ';') continue;
    if (*s == '[') {
      char *e = strchr(s, ']');
      if (!e) die(EX_CONFIG, "%s: bad section line '%s'", path, s);
      *e = 0;
      snprintf(section, sizeof section, "%s", s + 1);
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq) die(EX_CONFIG, "%s: line '%s' is not key = value", path, s);
    *eq = 0;
    snprintf(key, sizeof key, "%s.%s", section, trim(s));
    set_key(key, trim(eq + 1), path);
  }
  fclose(f);
}

/* ---- the "model": state_{k+1} = sum over ranks of mix(state_k, k, rank) (mod 2^64) ---- */
static uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
static uint64_t advance(uint64_t state, long step, int rank) {
  uint64_t local = mix(state ^ mix((uint64_t)step * 1000003u + (uint64_t)rank)), global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return global;
}

/* ---- checkpoints ---- */
static void write_atomic(const char *path, const char *text) {
  char tmp[1200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
    die(1, "writing '%s': %s", tmp, strerror(errno));
  if (rename(tmp, path) != 0) die(1, "renaming '%s' to '%s': %s", tmp, path, strerror(errno));
}
static void save_checkpoint(const char *dir, long step, uint64_t state) {
  if (g_rank == 0) {
    char path[1100], text[128];
    snprintf(path, sizeof path, "%s/checkpoints/step-%06ld.txt", dir, step);
    snprintf(text, sizeof text, "step %ld\nstate %016" PRIx64 "\nend\n", step, state);
    write_atomic(path, text);
    printf("[standin] checkpoint %s\n", path);
    fflush(stdout);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}
/* Newest valid checkpoint (largest step whose file parses and ends with "end"); returns 0 if none. */
static int load_newest(const char *dir, long *step, uint64_t *state) {
  char cdir[1100];
  snprintf(cdir, sizeof cdir, "%s/checkpoints", dir);
  DIR *d = opendir(cdir);
  if (!d) return 0;
  int found = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    long k;
    char tail[16];
    if (sscanf(e->d_name, "step-%ld.%15s", &k, tail) != 2 || strcmp(tail, "txt") != 0) continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", cdir, e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    long s;
    uint64_t x;
    char end[8] = "";
    int ok = fscanf(f, "step %ld\nstate %" SCNx64 "\n%7s", &s, &x, end) == 3 && strcmp(end, "end") == 0 && s == k;
    fclose(f);
    if (ok && (!found || s > *step)) { *step = s; *state = x; found = 1; }
  }
  closedir(d);
  return found;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int size;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 2 || strcmp(argv[1], "train") != 0) die(EX_CONFIG, "usage: standin_trainer train --config FILE.ini [--key value]...");
  for (int i = 2; i < argc; i += 2) {
    if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) die(EX_CONFIG, "expected --key value, got '%s'", argv[i]);
    if (strcmp(argv[i], "--config") == 0) read_ini(argv[i + 1]);
  }
  for (int i = 2; i < argc; i += 2)
    if (strcmp(argv[i], "--config") != 0) set_key(argv[i] + 2, argv[i + 1], "command line");

  const char *ntasks = getenv("SLURM_NTASKS");
  if (ntasks && atoi(ntasks) != size) die(1, "world size %d != SLURM_NTASKS=%s (launched without pmix?)", size, ntasks);
  const char *dir = get_key("run.dir", NULL);
  if (!dir) die(EX_CONFIG, "key run.dir is required");
  const char *resume = get_key("run.resume", "auto"), *signame = get_key("run.preempt_signal", "USR2");
  if (strcmp(resume, "auto") != 0 && strcmp(resume, "never") != 0) die(EX_CONFIG, "key run.resume: '%s' (auto|never)", resume);
  int sig = strcmp(signame, "USR2") == 0 ? SIGUSR2 : strcmp(signame, "TERM") == 0 ? SIGTERM : 0;
  if (!sig) die(EX_CONFIG, "key run.preempt_signal: '%s' (USR2|TERM)", signame);
  long steps = get_long("standin.steps", 20), step_ms = get_long("standin.step_ms", 200);
  long every = get_long("standin.ckpt_every", 5), skew_ms = get_long("standin.exit_skew_ms", 0);
  const char *ignore_term = get_key("standin.ignore_term_on_stop", "true");
  if (strcmp(ignore_term, "true") != 0 && strcmp(ignore_term, "false") != 0)
    die(EX_CONFIG, "key standin.ignore_term_on_stop: '%s' (true|false)", ignore_term);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_preempt;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);

  char cdir[1100];
  snprintf(cdir, sizeof cdir, "%s/checkpoints", dir);
  if (g_rank == 0 && ((mkdir(dir, 0755) != 0 && errno != EEXIST) || (mkdir(cdir, 0755) != 0 && errno != EEXIST)))
    die(1, "creating '%s': %s", cdir, strerror(errno));
  long step = 0;
  uint64_t state = 0x5eed;
  int resumed = 0;
  if (g_rank == 0 && strcmp(resume, "auto") == 0) resumed = load_newest(dir, &step, &state);
  MPI_Bcast(&resumed, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Bcast(&step, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  MPI_Bcast(&state, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (g_rank == 0) {
    printf("[standin] world %d, %s at step %ld of %ld, state %016" PRIx64 "\n", size,
           resumed ? "resumed" : "started", step, steps, state);
    fflush(stdout);
  }

  struct timespec nap = {step_ms / 1000, (step_ms % 1000) * 1000000L};
  for (; step < steps; ++step) {
    int flag = g_stop_requested, any = 0;  /* step boundary: do all ranks agree to stop? */
    MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any) {
      if (sig != SIGTERM && strcmp(ignore_term, "true") == 0) signal(SIGTERM, SIG_IGN);
      if (g_rank == 0) { printf("[standin] preemption signal: checkpoint at step %ld, exit %d\n", step, EX_TEMPFAIL); fflush(stdout); }
      save_checkpoint(dir, step, state);
      MPI_Finalize();
      if (g_rank == 1 && skew_ms > 0) {
        struct timespec late = {skew_ms / 1000, (skew_ms % 1000) * 1000000L};
        nanosleep(&late, NULL);
      }
      return EX_TEMPFAIL;
    }
    nanosleep(&nap, NULL);
    state = advance(state, step, g_rank);
    if (g_rank == 0) {
      printf("[standin] step %ld state %016" PRIx64 "\n", step + 1, state);
      fflush(stdout);
      char path[1100];
      snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
      FILE *m = fopen(path, "a");
      if (!m || fprintf(m, "{\"epoch\": %ld}\n", step + 1) < 0 || fclose(m) != 0) die(1, "appending to '%s'", path);
    }
    if (every > 0 && (step + 1) % every == 0 && step + 1 < steps) save_checkpoint(dir, step + 1, state);
  }
  if (g_rank == 0) {
    char path[1100], text[128];
    snprintf(path, sizeof path, "%s/params-final.safetensors", dir);
    snprintf(text, sizeof text, "standin state %016" PRIx64 " after %ld steps\n", state, steps);
    write_atomic(path, text);
    printf("[standin] done: %s\n", path);
  }
  MPI_Finalize();
  return 0;
}
