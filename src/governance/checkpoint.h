// Signed audit checkpoints: an Ed25519 signature (key kept in a PEM file
// outside the database) over the chain head, exported as a JSON file. Even a
// superuser who rewrites audit.event and audit.chain_head cannot forge one,
// so verifying the chain against an exported checkpoint detects rewrites and
// tail truncation that the in-database chain alone cannot.
//
// Functions are thread-compatible; those taking a Database use it for one
// read transaction.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "governance/audit.h"
#include "store/database.h"

namespace dw::governance {

struct Checkpoint {
  std::string chain = "main";
  std::int64_t seq = 0;     // events covered (0: empty chain)
  std::string head_hash;    // row_hash of event `seq` (genesis when 0)
  std::string created_at;   // UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ"
  std::string key_id;       // sha256 hex of the raw 32-byte public key
  std::string public_key;   // raw Ed25519 public key, hex
  std::string signature;    // Ed25519 signature of CheckpointMessage, hex
};

// The exact bytes signed: "driftwatch.audit-checkpoint/1\n<chain>\n<seq>\n
// <head_hash>\n<created_at>". Pure.
std::string CheckpointMessage(const Checkpoint& checkpoint);

// Creates a new Ed25519 private key as PKCS#8 PEM at `key_path`, mode 0600.
// kConflict when the file exists (keys are never overwritten), kInternal
// when it cannot be written.
Status GenerateSigningKey(const std::string& key_path);

// The PEM public key for the key in `key_path` (a private or a public key
// PEM), to hand to auditors. kInvalidInput for a file that is not an Ed25519
// key, kNotFound when missing, kPermissionDenied for a private key readable
// by group or others.
Result<std::string> PublicKeyPem(const std::string& key_path);

// Verifies the whole chain (VerifyAudit); when it is intact, signs its head
// with the private key at `key_path`, generating the key first when the file
// does not exist. kConflict (with the report's message) when the chain is
// broken: a broken chain is never certified. Key errors as PublicKeyPem.
Result<Checkpoint> WriteCheckpoint(store::Database& db, const std::string& key_path);

// JSON form ({"format":"driftwatch.audit-checkpoint/1", ...}) and back;
// kInvalidInput for missing fields or another format.
nlohmann::json CheckpointToJson(const Checkpoint& checkpoint);
Result<Checkpoint> CheckpointFromJson(const nlohmann::json& json);

// Writes the checkpoint as JSON to a new file; kConflict when `path` exists.
Status SaveCheckpoint(const Checkpoint& checkpoint, const std::string& path);

// Reads a checkpoint file; kNotFound when missing, kInvalidInput when
// malformed.
Result<Checkpoint> LoadCheckpoint(const std::string& path);

// Ok when the checkpoint is signed by the trusted key in `trusted_key_path`
// (private or public PEM) and names that key; kConflict otherwise.
Status VerifyCheckpointSignature(const Checkpoint& checkpoint, const std::string& trusted_key_path);

// Verifies the signature, then the chain against the checkpoint: a chain
// shorter than the checkpoint is kTruncated, a different hash at its
// sequence number kCheckpointMismatch. A bad signature is reported as
// kBadCheckpoint (the chain is not walked). Errors as VerifyAudit and
// PublicKeyPem.
Result<VerifyReport> VerifyAuditAgainstCheckpoint(store::Database& db, const Checkpoint& checkpoint,
                                                  const std::string& trusted_key_path);

}  // namespace dw::governance
