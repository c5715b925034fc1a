#include "core/status.h"

namespace dw {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput: return "invalid input";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kPermissionDenied: return "permission denied";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kInternal: return "internal error";
  }
  return "error";
}

int ExitCodeFor(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidInput:
    case ErrorKind::kNotFound:
    case ErrorKind::kConflict:
    case ErrorKind::kPermissionDenied:
      return kExitBadInput;
    case ErrorKind::kUnavailable:
    case ErrorKind::kInternal:
      return kExitRuntimeFailure;
  }
  return kExitRuntimeFailure;
}

}  // namespace dw
