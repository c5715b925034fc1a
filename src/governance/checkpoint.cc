#include "governance/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/hash.h"

namespace dw::governance {
namespace {

constexpr const char* kFormat = "driftwatch.audit-checkpoint/1";

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

bool FileExists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

struct LoadedKey {
  Pkey key;
  bool is_private = false;
};

Result<LoadedKey> LoadKey(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Fail(ErrorKind::kNotFound, path + ": no such key file");
    return Fail(ErrorKind::kInternal, path + ": " + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorKind::kPermissionDenied, path + ": cannot read the key file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string pem = buffer.str();

  LoadedKey loaded;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  loaded.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (loaded.key) {
    loaded.is_private = true;
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
      return Fail(ErrorKind::kPermissionDenied, path + ": the private key is readable by others (mode " +
                                                    std::string(mode) + "); run chmod 600 " + path);
    }
  } else {
    ERR_clear_error();
    bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    loaded.key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
  }
  if (!loaded.key || EVP_PKEY_id(loaded.key.get()) != EVP_PKEY_ED25519)
    return Fail(ErrorKind::kInvalidInput, path + ": not an Ed25519 private or public key in PEM form");
  return loaded;
}

Result<std::string> RawPublicKey(EVP_PKEY* key) {
  unsigned char raw[32];
  std::size_t length = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &length) != 1 || length != sizeof raw)
    return Fail(ErrorKind::kInternal, "cannot read the public key: " + OpenSslError());
  return std::string(reinterpret_cast<const char*>(raw), length);
}

std::optional<std::string> HexDecode(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

Result<std::string> Sign(EVP_PKEY* key, const std::string& message) {
  MdCtx ctx(EVP_MD_CTX_new());
  unsigned char signature[64];
  std::size_t length = sizeof signature;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1)
    return Fail(ErrorKind::kInternal, "signing the checkpoint failed: " + OpenSslError());
  return std::string(reinterpret_cast<const char*>(signature), length);
}

bool SignatureValid(EVP_PKEY* key, const std::string& message, const std::string& signature) {
  MdCtx ctx(EVP_MD_CTX_new());
  bool valid = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
               EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                message.size()) == 1;
  ERR_clear_error();
  return valid;
}

}  // namespace

std::string CheckpointMessage(const Checkpoint& checkpoint) {
  return std::string(kFormat) + "\n" + checkpoint.chain + "\n" + std::to_string(checkpoint.seq) + "\n" +
         checkpoint.head_hash + "\n" + checkpoint.created_at;
}

Status GenerateSigningKey(const std::string& key_path) {
  if (FileExists(key_path)) return Fail(ErrorKind::kConflict, key_path + ": a key already exists; keys are never overwritten");
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Fail(ErrorKind::kInternal, "generating an Ed25519 key failed: " + OpenSslError());
  int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Fail(ErrorKind::kConflict, key_path + ": a key already exists");
    return Fail(ErrorKind::kInternal, key_path + ": " + std::strerror(errno));
  }
  FILE* file = ::fdopen(fd, "w");
  if (!file) {
    ::close(fd);
    return Fail(ErrorKind::kInternal, key_path + ": " + std::strerror(errno));
  }
  bool written = PEM_write_PrivateKey(file, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    ::unlink(key_path.c_str());
    return Fail(ErrorKind::kInternal, key_path + ": writing the key failed: " + OpenSslError());
  }
  return Ok();
}

Result<std::string> PublicKeyPem(const std::string& key_path) {
  auto loaded = LoadKey(key_path);
  if (!loaded) return Fail(loaded.error());
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), loaded->key.get()) != 1)
    return Fail(ErrorKind::kInternal, "writing the public key failed: " + OpenSslError());
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

Result<Checkpoint> WriteCheckpoint(store::Database& db, const std::string& key_path) {
  if (!FileExists(key_path)) {
    if (auto s = GenerateSigningKey(key_path); !s) return Fail(s.error());
  }
  auto loaded = LoadKey(key_path);
  if (!loaded) return Fail(loaded.error());
  if (!loaded->is_private)
    return Fail(ErrorKind::kInvalidInput, key_path + ": a public key cannot sign; give the private key");
  auto report = VerifyAudit(db);
  if (!report) return Fail(report.error());
  if (!report->ok())
    return Fail(ErrorKind::kConflict, "the audit chain is broken at event " + std::to_string(report->first_bad_seq) +
                                          " (" + report->message + "); a broken chain is not signed");
  auto raw = RawPublicKey(loaded->key.get());
  if (!raw) return Fail(raw.error());
  Checkpoint checkpoint;
  checkpoint.seq = report->last_seq;
  checkpoint.head_hash = report->head_hash;
  checkpoint.created_at = FormatAuditTime(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  checkpoint.public_key = HexEncode(*raw);
  checkpoint.key_id = Sha256Hex(*raw);
  auto signature = Sign(loaded->key.get(), CheckpointMessage(checkpoint));
  if (!signature) return Fail(signature.error());
  checkpoint.signature = HexEncode(*signature);
  return checkpoint;
}

nlohmann::json CheckpointToJson(const Checkpoint& checkpoint) {
  return {{"format", kFormat},
          {"chain", checkpoint.chain},
          {"seq", checkpoint.seq},
          {"head_hash", checkpoint.head_hash},
          {"created_at", checkpoint.created_at},
          {"key_id", checkpoint.key_id},
          {"public_key", checkpoint.public_key},
          {"signature", checkpoint.signature}};
}

Result<Checkpoint> CheckpointFromJson(const nlohmann::json& json) {
  if (!json.is_object() || json.value("format", "") != kFormat)
    return Fail(ErrorKind::kInvalidInput, std::string("not a checkpoint: expected format ") + kFormat);
  Checkpoint checkpoint;
  for (auto [key, out] : {std::pair{"chain", &checkpoint.chain}, {"head_hash", &checkpoint.head_hash},
                          {"created_at", &checkpoint.created_at}, {"key_id", &checkpoint.key_id},
                          {"public_key", &checkpoint.public_key}, {"signature", &checkpoint.signature}}) {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string())
      return Fail(ErrorKind::kInvalidInput, std::string("checkpoint field '") + key + "' must be a string");
    *out = it->get<std::string>();
  }
  auto seq = json.find("seq");
  if (seq == json.end() || !seq->is_number_integer() || seq->get<std::int64_t>() < 0)
    return Fail(ErrorKind::kInvalidInput, "checkpoint field 'seq' must be a non-negative integer");
  checkpoint.seq = seq->get<std::int64_t>();
  return checkpoint;
}

Status SaveCheckpoint(const Checkpoint& checkpoint, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Fail(ErrorKind::kConflict, path + ": exists; checkpoints are never overwritten");
    return Fail(ErrorKind::kInternal, path + ": " + std::strerror(errno));
  }
  const std::string text = CheckpointToJson(checkpoint).dump(2) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = (::close(fd) == 0) && ok;
  if (!ok) return Fail(ErrorKind::kInternal, path + ": writing the checkpoint failed");
  return Ok();
}

Result<Checkpoint> LoadCheckpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorKind::kNotFound, path + ": no such checkpoint file");
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Fail(ErrorKind::kInvalidInput, path + ": not valid JSON");
  auto checkpoint = CheckpointFromJson(json);
  if (!checkpoint) return Fail(ErrorKind::kInvalidInput, path + ": " + checkpoint.error().message);
  return checkpoint;
}

Status VerifyCheckpointSignature(const Checkpoint& checkpoint, const std::string& trusted_key_path) {
  auto loaded = LoadKey(trusted_key_path);
  if (!loaded) return Fail(loaded.error());
  auto raw = RawPublicKey(loaded->key.get());
  if (!raw) return Fail(raw.error());
  if (checkpoint.key_id != Sha256Hex(*raw) || checkpoint.public_key != HexEncode(*raw))
    return Fail(ErrorKind::kConflict, "the checkpoint was signed by key " + checkpoint.key_id.substr(0, 16) +
                                          ", not by the trusted key " + Sha256Hex(*raw).substr(0, 16));
  auto signature = HexDecode(checkpoint.signature);
  if (!signature || !SignatureValid(loaded->key.get(), CheckpointMessage(checkpoint), *signature))
    return Fail(ErrorKind::kConflict, "the checkpoint's signature does not verify: it was altered");
  return Ok();
}

Result<VerifyReport> VerifyAuditAgainstCheckpoint(store::Database& db, const Checkpoint& checkpoint,
                                                  const std::string& trusted_key_path) {
  if (auto s = VerifyCheckpointSignature(checkpoint, trusted_key_path); !s) {
    if (s.error().kind != ErrorKind::kConflict) return Fail(s.error());
    VerifyReport report;
    report.problem = AuditProblem::kBadCheckpoint;
    report.message = s.error().message;
    return report;
  }
  if (checkpoint.chain != "main")
    return Fail(ErrorKind::kInvalidInput, "the checkpoint is for chain '" + checkpoint.chain + "', not 'main'");
  return VerifyAudit(db, AuditAnchor{checkpoint.seq, checkpoint.head_hash});
}

}  // namespace dw::governance
