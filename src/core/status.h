// Error values returned across module boundaries.
//
// Adapters (PostgreSQL, YAML, HTTP, files) catch their libraries' exceptions
// and return a Result; the pure core never throws for expected failures.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace dw {

// What kind of failure happened; the CLI maps kinds to exit codes.
enum class ErrorKind {
  kInvalidInput,      // the user's input (file, flag, request) is wrong
  kNotFound,          // a named thing does not exist
  kConflict,          // the request contradicts stored state (e.g. immutable row)
  kPermissionDenied,  // the caller may not do this
  kUnavailable,       // a dependency (database, network) is unreachable
  kInternal,          // a bug or an unexpected library failure
};

// Human-readable name of an error kind ("invalid input", ...).
const char* ErrorKindName(ErrorKind kind);

// A failure with a message meant for the person running the tool. Messages
// about files start with "path:line:column: ".
struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

// Builds the error side of a Result: `return Fail(ErrorKind::kNotFound, "...")`.
inline tl::unexpected<Error> Fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}
inline tl::unexpected<Error> Fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

// A successful Status.
inline Status Ok() { return {}; }

// The Status of `result`, its value dropped: `return AsStatus(AppendAudit(...));`.
template <typename T>
Status AsStatus(const Result<T>& result) {
  if (!result) return Fail(result.error());
  return Ok();
}

// Process exit codes, documented in the README. Stable: scripts depend on them.
enum ExitCode : int {
  kExitOk = 0,            // success, no regression
  kExitRegression = 1,    // the command worked and found a critical regression / drift
  kExitBadInput = 2,      // usage error, invalid config or golden set, unknown name
  kExitRuntimeFailure = 3 // database down, provider unreachable, internal error
};

// The exit code a failed command should end with.
int ExitCodeFor(const Error& error);

}  // namespace dw
