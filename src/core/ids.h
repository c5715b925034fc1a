// Identifiers minted by Driftwatch.
#pragma once

#include <string>

namespace dw {

// A random RFC 4122 version-4 UUID in canonical lower-case form. Thread-safe.
std::string NewUuid();

// This machine's host name ("unknown" if it cannot be read).
std::string HostName();

}  // namespace dw
