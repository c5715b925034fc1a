// Scoped temporary directories and files for tests.
#pragma once

#include <filesystem>
#include <string>

namespace dw::testing {

// Creates a fresh directory under the system temp dir; removes it (and
// everything inside) on destruction. Not copyable.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `contents` to `name` inside the directory and returns its path.
  std::filesystem::path WriteFile(const std::string& name, const std::string& contents) const;

 private:
  std::filesystem::path path_;
};

// Reads a whole file; empty string if it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

}  // namespace dw::testing
