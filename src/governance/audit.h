// The hash-chained audit log (audit.event, written only by the SECURITY
// DEFINER function audit.append): appending for other modules, and an
// independent verifier that recomputes every row hash in C++ exactly as the
// database does (audit.row_hash, V0001, for format 1 rows; audit.row_hash_v2,
// V0005, for format 2 rows) and reports the first broken sequence number.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/database.h"

namespace pqxx {
class dbtransaction;
}  // namespace pqxx

namespace dw::governance {

// The row hash formats: 1 (V0001) does not cover db_role; 2 (V0005, every
// row appended since) covers db_role and the format number.
inline constexpr int kAuditHashV1 = 1;
inline constexpr int kAuditHashV2 = 2;

// One row of the chain as stored.
struct AuditEvent {
  std::string chain = "main";
  std::int64_t seq = 0;
  std::string occurred_at;  // UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ": the hashed form
  std::string actor;
  std::string db_role;  // session user; hashed in format 2 only
  std::string action;
  std::string object_type;
  std::string object_id;
  std::string payload;  // canonical JSON text; the hash covers these bytes
  std::string prev_hash;
  std::string row_hash;
  int hash_version = kAuditHashV2;  // the format row_hash was computed with
};

// The 64 zeros that precede the first event.
inline constexpr const char* kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

// The row hash of `event` from its fields and prev_hash in the event's own
// format, identical to the database's function for it. Format 1
// (audit.row_hash): sha256 over prev_hash, seq, occurred_at, the length-
// prefixed (in characters) actor, action, object type and object id, and the
// sha256 of the payload, joined by newlines. Format 2 (audit.row_hash_v2):
// the line "2", then the same fields with the length-prefixed db_role after
// the actor. Empty for an unknown format (which then matches no row). Pure.
std::string AuditRowHash(const AuditEvent& event);

// Formats microseconds since the Unix epoch as occurred_at is hashed.
std::string FormatAuditTime(std::int64_t epoch_micros);

enum class AuditProblem {
  kNone,
  kGap,                 // a sequence number is missing (a deleted row) or out of order
  kHashMismatch,        // a row no longer matches its own hash (altered)
  kRewritten,           // a row was altered and re-hashed: the next row still links to the original
  kHeadMismatch,        // the rows disagree with audit.chain_head (tail deleted or rewritten)
  kTruncated,           // fewer rows than a signed checkpoint covers
  kCheckpointMismatch,  // the row at the checkpoint's sequence has another hash (rewritten)
  kBadCheckpoint,       // the checkpoint's signature or key does not verify
};

// "ok", "gap", "hash_mismatch", "rewritten", "head_mismatch", "truncated",
// "checkpoint_mismatch", "bad_checkpoint".
const char* AuditProblemName(AuditProblem problem);

struct VerifyReport {
  AuditProblem problem = AuditProblem::kNone;
  std::int64_t events = 0;     // rows walked
  std::int64_t last_seq = 0;   // of the last row walked
  std::string head_hash;       // row_hash of that row (genesis when empty)
  std::int64_t first_bad_seq = 0;  // the first sequence number at fault; 0 when ok
  std::string message;             // one line for people

  bool ok() const { return problem == AuditProblem::kNone; }
};

// A trusted (sequence, hash) pair, e.g. from a signed checkpoint.
struct AuditAnchor {
  std::int64_t seq = 0;
  std::string head_hash;
};

// Walks a chain in order and remembers the first problem. Not thread-safe.
class ChainVerifier {
 public:
  explicit ChainVerifier(std::optional<AuditAnchor> anchor = std::nullopt);

  // Checks the next row: sequence continuity, its own hash, its link to the
  // previous row, and the anchor. Rows after the first problem are counted
  // but not checked.
  void Add(const AuditEvent& event);

  // Ends the walk. `head` is the database's chain head (last_seq, last_hash)
  // when known; the anchor must be covered by the rows walked.
  VerifyReport Finish(const std::optional<AuditAnchor>& head);

 private:
  void Report(AuditProblem problem, std::int64_t seq, std::string message);

  std::optional<AuditAnchor> anchor_;
  std::int64_t events_ = 0;
  std::int64_t last_seq_ = 0;
  std::string last_hash_ = kGenesisHash;
  VerifyReport report_;
};

// Recomputes the whole 'main' chain from the database in one snapshot and
// compares it with audit.chain_head and, if given, an anchor. The report
// carries any tampering found; errors are for failures to read (kPermission
// Denied for roles without SELECT on audit, i.e. all but dw_auditor).
Result<VerifyReport> VerifyAudit(store::Database& db, const std::optional<AuditAnchor>& anchor = std::nullopt);

// Writes every event of the 'main' chain to `out` as JSON lines (one
// canonical JSON object per event, fields as in AuditEvent), in sequence
// order, and returns how many. The output verifies offline with
// VerifyAuditExport. Errors as VerifyAudit.
Result<std::int64_t> ExportAudit(store::Database& db, std::ostream& out);

// Verifies a JSON-lines export without the database (no chain head is known,
// so tail truncation is found only against an anchor). kInvalidInput naming
// the line for malformed input.
Result<VerifyReport> VerifyAuditExport(std::istream& in, const std::optional<AuditAnchor>& anchor = std::nullopt);

// The JSON-lines form of one event, and back (kInvalidInput when a field is
// missing or has the wrong type). A line without "hash_version" (exported
// before V0005) is format 1.
nlohmann::json AuditEventToJson(const AuditEvent& event);
Result<AuditEvent> AuditEventFromJson(const nlohmann::json& json);

}  // namespace dw::governance
