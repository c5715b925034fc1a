// Command-line entry point: parses argv, dispatches to a subcommand and maps
// errors to documented exit codes (see core/status.h).
#pragma once

namespace dw::cli {

// Runs the driftwatch command line. Returns the process exit code. Never
// throws: unexpected exceptions are reported as runtime failures.
int Main(int argc, char** argv);

}  // namespace dw::cli
