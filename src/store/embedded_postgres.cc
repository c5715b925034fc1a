#include "store/embedded_postgres.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <pqxx/pqxx>

#include "core/hash.h"
#include "store/database.h"

namespace fs = std::filesystem;

namespace dw::store {
namespace {

// Runs argv (optionally as another user), output appended to `log_path`.
// Returns the exit status, or -1 if it could not be started.
int RunCommand(const std::vector<std::string>& argv, const std::string& log_path, const passwd* as_user) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (as_user != nullptr) {
      if (setgid(as_user->pw_gid) != 0 || setuid(as_user->pw_uid) != 0) _exit(126);
      setenv("HOME", as_user->pw_dir, 1);
      setenv("USER", as_user->pw_name, 1);
    }
    unsetenv("PGDATA");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string LogTail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "\n  " + all[i];
  return out;
}

struct FileLock {
  int fd = -1;
  explicit FileLock(const std::string& path) {
    fd = open(path.c_str(), O_RDWR | O_CREAT, 0666);
    if (fd >= 0) flock(fd, LOCK_EX);
  }
  ~FileLock() {
    if (fd >= 0) {
      flock(fd, LOCK_UN);
      close(fd);
    }
  }
};

Status ChownTree(const fs::path& dir, const passwd* user) {
  if (user == nullptr) return Ok();
  std::error_code ec;
  if (chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0)
    return Fail(ErrorKind::kUnavailable, "cannot give " + dir.string() + " to user " + user->pw_name);
  // Only the cluster's own top-level entries: a running server creates and
  // removes files below data/ at any moment, and owns them already.
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (lchown(it->path().c_str(), user->pw_uid, user->pw_gid) != 0 && errno != ENOENT)
      return Fail(ErrorKind::kUnavailable, "cannot give " + it->path().string() + " to user " + user->pw_name);
  }
  return Ok();
}


}  // namespace

Result<std::string> FindPostgresBinDir() {
  if (const char* env = std::getenv("DRIFTWATCH_PG_BINDIR"); env && *env) return std::string(env);
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = entry.path() / "bin";
    if (fs::exists(bin / "pg_ctl") && fs::exists(bin / "initdb")) {
      int major = std::atoi(entry.path().filename().c_str());
      found.emplace_back(major, bin.string());
    }
  }
  if (!found.empty()) return std::max_element(found.begin(), found.end())->second;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (fs::exists(fs::path(dir) / "pg_ctl") && fs::exists(fs::path(dir) / "initdb")) return dir;
  }
  return Fail(ErrorKind::kUnavailable,
              "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian package 'postgresql' "
              "or pass --database-url / DRIFTWATCH_DATABASE_URL");
}

Result<EmbeddedCluster> EnsureEmbeddedCluster(const std::string& base_dir, const std::string& dbname) {
  auto bin_dir = FindPostgresBinDir();
  if (!bin_dir) return Fail(bin_dir.error());
  std::error_code ec;
  fs::path root = fs::absolute(fs::path(base_dir) / "pg", ec);
  fs::create_directories(root, ec);
  if (ec) return Fail(ErrorKind::kUnavailable, "cannot create " + root.string() + ": " + ec.message());
  const passwd* as_user = nullptr;
  if (geteuid() == 0) {
    as_user = getpwnam("postgres");
    if (as_user == nullptr)
      return Fail(ErrorKind::kUnavailable, "running as root needs the 'postgres' system user to own the embedded "
                                           "cluster (install the 'postgresql' package)");
  }
  FileLock lock((root / ".lock").string());
  fs::path data = root / "data";
  fs::path socket = root / "run";
  // Unix socket paths are limited to 107 bytes; fall back to a short path.
  if ((socket / ".s.PGSQL.5432").string().size() > 100)
    socket = fs::path("/tmp") / ("dw-pg-" + Sha256Hex(root.string()).substr(0, 16));
  fs::path log = root / "postgres.log";
  EmbeddedCluster cluster;
  cluster.data_dir = data.string();
  cluster.socket_dir = socket.string();
  std::string base_url = "host=" + socket.string() + " port=5432 user=postgres";
  cluster.url = base_url + " dbname=" + dbname;
  // Already running with the database created (every command after the
  // first): no ownership fix-up, no pg_ctl, no database check.
  if (fs::exists(socket / ".s.PGSQL.5432")) {
    if (auto connected = Database::Connect(cluster.url + " connect_timeout=5")) {
      cluster.connection = std::move(*connected);
      return cluster;
    }
  }
  fs::create_directories(socket, ec);
  if (as_user != nullptr) {
    if (auto s = ChownTree(root, as_user); !s) return Fail(s.error());
    if (chown(socket.c_str(), as_user->pw_uid, as_user->pw_gid) != 0)
      return Fail(ErrorKind::kUnavailable, "cannot give " + socket.string() + " to user postgres");
    // The postgres user must be able to reach the directory.
    for (fs::path p = root; p != p.root_path(); p = p.parent_path()) {
      struct stat st;
      if (stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) chmod(p.c_str(), st.st_mode | S_IXOTH);
    }
  }
  chmod(socket.c_str(), 0700);
  {
    std::ofstream touch(log, std::ios::app);
  }
  if (as_user != nullptr && chown(log.c_str(), as_user->pw_uid, as_user->pw_gid) != 0)
    return Fail(ErrorKind::kUnavailable, "cannot give " + log.string() + " to user postgres");

  if (!fs::exists(data / "PG_VERSION")) {
    fs::create_directories(data, ec);
    if (as_user != nullptr) (void)ChownTree(data, as_user);
    chmod(data.c_str(), 0700);
    int rc = RunCommand({*bin_dir + "/initdb", "-D", data.string(), "--auth=trust", "--username=postgres",
                         "--encoding=UTF8", "--no-locale", "--no-sync"},
                        log.string(), as_user);
    if (rc != 0)
      return Fail(ErrorKind::kUnavailable, "initdb failed (exit " + std::to_string(rc) + "); log " + log.string() +
                                               ":" + LogTail(log.string(), 8));
  }
  int status = RunCommand({*bin_dir + "/pg_ctl", "-D", data.string(), "status"}, "/dev/null", as_user);
  if (status != 0) {
    std::string options = "-c listen_addresses='' -c unix_socket_directories='" + socket.string() +
                          "' -c port=5432 -c max_connections=200 -c fsync=on -c shared_buffers=128MB";
    int rc = RunCommand({*bin_dir + "/pg_ctl", "-D", data.string(), "-l", log.string(), "-w", "-t", "60", "-o",
                         options, "start"},
                        log.string(), as_user);
    if (rc != 0)
      return Fail(ErrorKind::kUnavailable, "could not start the embedded PostgreSQL (exit " + std::to_string(rc) +
                                               "); log " + log.string() + ":" + LogTail(log.string(), 8));
  }
  Status created = Guard("embedded cluster", [&]() -> Status {
    pqxx::connection conn(base_url + " dbname=postgres");
    pqxx::nontransaction tx(conn);
    auto exists = tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", dbname);
    if (exists.empty()) {
      try {
        tx.exec0("CREATE DATABASE " + tx.quote_name(dbname));
      } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() != "42P04") throw;  // created concurrently: fine
      }
    }
    return Ok();
  });
  if (!created) return Fail(created.error());
  return cluster;
}

Status StopEmbeddedCluster(const std::string& base_dir) {
  auto bin_dir = FindPostgresBinDir();
  if (!bin_dir) return Fail(bin_dir.error());
  fs::path data = fs::absolute(fs::path(base_dir) / "pg" / "data");
  if (!fs::exists(data / "PG_VERSION")) return Ok();
  const passwd* as_user = geteuid() == 0 ? getpwnam("postgres") : nullptr;
  int rc = RunCommand({*bin_dir + "/pg_ctl", "-D", data.string(), "-m", "fast", "-w", "stop"}, "/dev/null", as_user);
  if (rc != 0 && rc != 3) return Fail(ErrorKind::kUnavailable, "pg_ctl stop failed with exit " + std::to_string(rc));
  return Ok();
}

}  // namespace dw::store
