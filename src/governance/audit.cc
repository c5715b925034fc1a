#include "governance/audit.h"

#include <cstdio>
#include <ctime>
#include <functional>
#include <istream>
#include <ostream>
#include <pqxx/pqxx>

#include "core/hash.h"
#include "core/json_text.h"
#include "governance/sql_support.h"

namespace dw::governance {
namespace {

constexpr int kBatchRows = 5000;

// PostgreSQL's length(): characters, i.e. UTF-8 lead bytes.
std::size_t CharacterCount(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string LengthPrefixed(const std::string& text) { return std::to_string(CharacterCount(text)) + ":" + text; }

// Reads the chain in sequence order in batches, calling `fn` for each row.
void ForEachEvent(pqxx::dbtransaction& tx, const std::function<void(const AuditEvent&)>& fn) {
  std::int64_t after = 0;
  for (;;) {
    auto rows = tx.exec_params(
        "SELECT chain, seq, (extract(epoch FROM occurred_at) * 1000000)::bigint, actor, db_role, action, "
        "object_type, object_id, payload, prev_hash, row_hash, hash_version FROM audit.event "
        "WHERE chain = 'main' AND seq > $1 ORDER BY seq LIMIT $2",
        after, kBatchRows);
    for (const auto& row : rows) {
      AuditEvent event;
      event.chain = row[0].as<std::string>();
      event.seq = row[1].as<std::int64_t>();
      event.occurred_at = FormatAuditTime(row[2].as<std::int64_t>());
      event.actor = row[3].as<std::string>();
      event.db_role = row[4].as<std::string>();
      event.action = row[5].as<std::string>();
      event.object_type = row[6].as<std::string>();
      event.object_id = row[7].as<std::string>();
      event.payload = row[8].as<std::string>();
      event.prev_hash = row[9].as<std::string>();
      event.row_hash = row[10].as<std::string>();
      event.hash_version = row[11].as<int>();
      after = event.seq;
      fn(event);
    }
    if (rows.size() < static_cast<std::size_t>(kBatchRows)) return;
  }
}

}  // namespace

std::string FormatAuditTime(std::int64_t epoch_micros) {
  std::int64_t seconds = epoch_micros / 1000000;
  std::int64_t micros = epoch_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros));
  return buffer;
}

std::string AuditRowHash(const AuditEvent& event) {
  std::string input;
  if (event.hash_version == kAuditHashV2) {
    input = "2\n";
  } else if (event.hash_version != kAuditHashV1) {
    return "";
  }
  input += event.prev_hash + "\n" + std::to_string(event.seq) + "\n" + event.occurred_at + "\n" +
           LengthPrefixed(event.actor) + "\n";
  if (event.hash_version == kAuditHashV2) input += LengthPrefixed(event.db_role) + "\n";
  input += LengthPrefixed(event.action) + "\n" + LengthPrefixed(event.object_type) + "\n" +
           LengthPrefixed(event.object_id) + "\n" + Sha256Hex(event.payload);
  return Sha256Hex(input);
}

const char* AuditProblemName(AuditProblem problem) {
  switch (problem) {
    case AuditProblem::kNone: return "ok";
    case AuditProblem::kGap: return "gap";
    case AuditProblem::kHashMismatch: return "hash_mismatch";
    case AuditProblem::kRewritten: return "rewritten";
    case AuditProblem::kHeadMismatch: return "head_mismatch";
    case AuditProblem::kTruncated: return "truncated";
    case AuditProblem::kCheckpointMismatch: return "checkpoint_mismatch";
    case AuditProblem::kBadCheckpoint: return "bad_checkpoint";
  }
  return "ok";
}

ChainVerifier::ChainVerifier(std::optional<AuditAnchor> anchor) : anchor_(std::move(anchor)) {}

void ChainVerifier::Report(AuditProblem problem, std::int64_t seq, std::string message) {
  if (!report_.ok()) return;
  report_.problem = problem;
  report_.first_bad_seq = seq;
  report_.message = std::move(message);
}

void ChainVerifier::Add(const AuditEvent& event) {
  ++events_;
  if (!report_.ok()) return;
  const std::int64_t expected = last_seq_ + 1;
  if (event.seq != expected) {
    if (event.seq > expected) {
      Report(AuditProblem::kGap, expected,
             "event " + std::to_string(expected) + " is missing: the chain jumps from " + std::to_string(last_seq_) +
                 " to " + std::to_string(event.seq) + " (deleted)");
    } else {
      Report(AuditProblem::kGap, event.seq,
             "event " + std::to_string(event.seq) + " appears out of order after " + std::to_string(last_seq_));
    }
    return;
  }
  const std::string computed = AuditRowHash(event);
  const bool self_consistent = !computed.empty() && computed == event.row_hash;
  const bool linked = event.prev_hash == last_hash_;
  if (!self_consistent) {
    Report(AuditProblem::kHashMismatch, event.seq,
           computed.empty() ? "event " + std::to_string(event.seq) + " has unknown hash format " +
                                  std::to_string(event.hash_version) + ": it was altered"
                            : "event " + std::to_string(event.seq) + " does not match its row hash: it was altered");
  } else if (!linked) {
    if (event.seq == 1) {
      Report(AuditProblem::kRewritten, 1, "event 1 does not start from the genesis hash");
    } else {
      Report(AuditProblem::kRewritten, event.seq - 1,
             "event " + std::to_string(event.seq - 1) + " was altered and re-hashed: event " +
                 std::to_string(event.seq) + " still links to its original hash");
    }
  } else if (anchor_ && anchor_->seq == event.seq && anchor_->head_hash != event.row_hash) {
    Report(AuditProblem::kCheckpointMismatch, event.seq,
           "event " + std::to_string(event.seq) +
               " differs from the signed checkpoint: the chain was rewritten at or before it");
  }
  last_seq_ = event.seq;
  last_hash_ = event.row_hash;
}

VerifyReport ChainVerifier::Finish(const std::optional<AuditAnchor>& head) {
  if (report_.ok() && anchor_ && anchor_->seq > last_seq_) {
    Report(AuditProblem::kTruncated, last_seq_ + 1,
           "the signed checkpoint covers " + std::to_string(anchor_->seq) + " events but the chain ends at " +
               std::to_string(last_seq_) + ": events from " + std::to_string(last_seq_ + 1) + " were deleted");
  }
  if (report_.ok() && head) {
    if (head->seq > last_seq_) {
      Report(AuditProblem::kHeadMismatch, last_seq_ + 1,
             "the chain head records " + std::to_string(head->seq) + " events but the rows end at " +
                 std::to_string(last_seq_) + ": events from " + std::to_string(last_seq_ + 1) + " were deleted");
    } else if (head->seq < last_seq_) {
      Report(AuditProblem::kHeadMismatch, head->seq + 1,
             "events after " + std::to_string(head->seq) + " were added without moving the chain head");
    } else if (head->head_hash != last_hash_) {
      Report(AuditProblem::kHeadMismatch, last_seq_,
             "event " + std::to_string(last_seq_) + " does not match the chain head's hash: it was rewritten");
    }
  }
  report_.events = events_;
  report_.last_seq = last_seq_;
  report_.head_hash = last_hash_;
  if (report_.ok()) {
    report_.message = std::to_string(events_) + " events verified; head " + std::to_string(last_seq_) + " " +
                      last_hash_.substr(0, 16);
  }
  return report_;
}

Result<VerifyReport> VerifyAudit(store::Database& db, const std::optional<AuditAnchor>& anchor) {
  VerifyReport report;
  Status status = internal::RunTransaction(db, "audit verify", [&](pqxx::dbtransaction& tx) -> Status {
    tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    std::optional<AuditAnchor> head;
    auto rows = tx.exec("SELECT last_seq, last_hash FROM audit.chain_head WHERE chain = 'main'");
    if (!rows.empty()) head = AuditAnchor{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>()};
    ChainVerifier verifier(anchor);
    ForEachEvent(tx, [&](const AuditEvent& event) { verifier.Add(event); });
    report = verifier.Finish(head);
    return Ok();
  });
  if (!status) return Fail(status.error());
  return report;
}

nlohmann::json AuditEventToJson(const AuditEvent& event) {
  return {{"chain", event.chain},
          {"seq", event.seq},
          {"occurred_at", event.occurred_at},
          {"actor", event.actor},
          {"db_role", event.db_role},
          {"action", event.action},
          {"object_type", event.object_type},
          {"object_id", event.object_id},
          {"payload", event.payload},
          {"prev_hash", event.prev_hash},
          {"row_hash", event.row_hash},
          {"hash_version", event.hash_version}};
}

Result<AuditEvent> AuditEventFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Fail(ErrorKind::kInvalidInput, "an audit event must be a JSON object");
  AuditEvent event;
  auto text = [&](const char* key, std::string& out) -> Status {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string())
      return Fail(ErrorKind::kInvalidInput, std::string("field '") + key + "' must be a string");
    out = it->get<std::string>();
    return Ok();
  };
  for (auto [key, out] : {std::pair{"chain", &event.chain}, {"occurred_at", &event.occurred_at},
                          {"actor", &event.actor}, {"db_role", &event.db_role}, {"action", &event.action},
                          {"object_type", &event.object_type}, {"object_id", &event.object_id},
                          {"payload", &event.payload}, {"prev_hash", &event.prev_hash},
                          {"row_hash", &event.row_hash}}) {
    if (auto s = text(key, *out); !s) return Fail(s.error());
  }
  auto seq = json.find("seq");
  if (seq == json.end() || !seq->is_number_integer())
    return Fail(ErrorKind::kInvalidInput, "field 'seq' must be an integer");
  event.seq = seq->get<std::int64_t>();
  event.hash_version = kAuditHashV1;
  if (auto version = json.find("hash_version"); version != json.end()) {
    if (!version->is_number_integer()) return Fail(ErrorKind::kInvalidInput, "field 'hash_version' must be an integer");
    event.hash_version = version->get<int>();
  }
  return event;
}

Result<std::int64_t> ExportAudit(store::Database& db, std::ostream& out) {
  std::int64_t count = 0;
  Status status = internal::RunTransaction(db, "audit export", [&](pqxx::dbtransaction& tx) -> Status {
    tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    ForEachEvent(tx, [&](const AuditEvent& event) {
      out << CanonicalJson(AuditEventToJson(event)) << '\n';
      ++count;
    });
    if (!out) return Fail(ErrorKind::kInternal, "audit export: writing the output failed");
    return Ok();
  });
  if (!status) return Fail(status.error());
  return count;
}

Result<VerifyReport> VerifyAuditExport(std::istream& in, const std::optional<AuditAnchor>& anchor) {
  ChainVerifier verifier(anchor);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto json = ParseJsonText(line);
    if (!json)
      return Fail(ErrorKind::kInvalidInput,
                  "line " + std::to_string(line_number) + ": not valid JSON: " + json.error().message);
    auto event = AuditEventFromJson(*json);
    if (!event) return Fail(ErrorKind::kInvalidInput, "line " + std::to_string(line_number) + ": " +
                                                          event.error().message);
    verifier.Add(*event);
  }
  return verifier.Finish(std::nullopt);
}

}  // namespace dw::governance
