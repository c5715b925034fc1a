// provider: exec, a local command.
//
// `exec.command` is run directly (no shell; argv[0] is looked up in PATH at
// creation) in its own process group. The rendered prompt is written to its
// standard input (the canonical JSON of the case vars when the target has no
// prompt), its standard output is the answer (trailing newlines removed, at
// most 16 MiB), standard error is kept for messages. Outcomes: exit status 0
// → usable/empty/refusal by content; non-zero exit or death by a signal →
// provider_error quoting the end of stderr (not retried); past the deadline
// the process group is killed with SIGKILL → timeout.
//
// Pipes are socket pairs driven by the io_context, so nothing blocks the
// io_context thread and writing to a command that exits early cannot raise
// SIGPIPE in driftwatch.
#pragma once

#include <memory>

#include "config/config.h"
#include "core/status.h"
#include "providers/provider.h"

namespace dw::providers {

// kInvalidInput if the command is empty or its program cannot be found.
Result<std::unique_ptr<Provider>> MakeExecProvider(const config::TargetConfig& target, boost::asio::io_context& io);

}  // namespace dw::providers
