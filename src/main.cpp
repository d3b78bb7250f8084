// dagalign: one executable, one subcommand per task (see dagalign --help).
#include "dagalign/cli/commands.h"

int main(int argc, char** argv) { return dagalign::cli::run(argc, argv); }
