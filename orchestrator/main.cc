// orchard: the command-line entry point. Everything else lives in libraries.
#include "orchestrator/cli/commands.h"

int main(int argc, char** argv) { return orchard::cli::RunCli(argc, argv); }
