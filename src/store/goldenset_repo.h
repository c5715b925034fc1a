// Published golden-set versions in PostgreSQL: immutable, content-hashed,
// numbered per name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/golden_case.h"
#include "core/status.h"
#include "store/database.h"

namespace dw::store {

struct PublishRequest {
  GoldenSet set;            // name must be set
  std::string source_format;  // native | jsonl | promptfoo
  std::string source_file;
  std::string published_by;
};

struct PublishedVersion {
  long long id = 0;
  std::string name;
  int version = 0;
  std::string manifest_sha256;
  int case_count = 0;
  bool created = false;  // false: identical content was already published
  std::string published_by;
  std::string published_at;
  std::string source_format;
  std::string description;
};

// Stores a new version if the manifest differs from every existing version
// of that name (otherwise returns the existing one with created=false).
// Concurrent publishers of the same name are serialised; the version row,
// its cases and an audit event are written in one transaction.
Result<PublishedVersion> PublishGoldenSet(Database& db, const PublishRequest& request);

// Latest version of each golden set.
Result<std::vector<PublishedVersion>> ListGoldenSets(Database& db);

// All versions of one golden set, oldest first.
Result<std::vector<PublishedVersion>> ListVersions(Database& db, const std::string& name);

// A version by name and number (nullopt = latest); kNotFound names what is
// missing.
Result<PublishedVersion> FindVersion(Database& db, const std::string& name, std::optional<int> version);

// The cases of a version, in publication order.
Result<GoldenSet> LoadCases(Database& db, long long version_id);

// Parses "name" or "name@3"; kInvalidInput for "name@x".
Result<std::pair<std::string, std::optional<int>>> ParseVersionRef(const std::string& ref);

}  // namespace dw::store
