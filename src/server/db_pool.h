// A small pool of PostgreSQL connections for request handlers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace dw::server {

// Hands out exclusive connections, at most `max_size` at a time, opening them
// on demand. Thread-safe. A connection whose work failed with kUnavailable is
// dropped and replaced on next use.
class DatabasePool {
 public:
  DatabasePool(std::string url, int max_size, std::chrono::milliseconds wait = std::chrono::milliseconds(5000));

  // Runs `work` with a connection of its own. kUnavailable when no
  // connection frees up within the pool's wait or the database cannot be
  // reached; otherwise whatever `work` returns.
  Status Use(const std::function<Status(store::Database&)>& work);

  const std::string& url() const { return url_; }

 private:
  std::string url_;
  int max_size_;
  std::chrono::milliseconds wait_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<store::Database>> idle_;
  int in_use_ = 0;
};

}  // namespace dw::server
