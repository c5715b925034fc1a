#include "server/db_pool.h"

namespace dw::server {

DatabasePool::DatabasePool(std::string url, int max_size, std::chrono::milliseconds wait)
    : url_(std::move(url)), max_size_(max_size < 1 ? 1 : max_size), wait_(wait) {}

Status DatabasePool::Use(const std::function<Status(store::Database&)>& work) {
  std::unique_ptr<store::Database> db;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, wait_, [&] { return !idle_.empty() || in_use_ < max_size_; }))
      return Fail(ErrorKind::kUnavailable, "all database connections are busy");
    if (!idle_.empty()) {
      db = std::move(idle_.back());
      idle_.pop_back();
    }
    ++in_use_;
  }
  if (!db) {
    auto connected = store::Database::Connect(url_);
    if (connected) db = std::move(*connected);
    if (!db) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        --in_use_;
      }
      cv_.notify_one();
      return Fail(connected.error());
    }
  }
  Status status = store::Guard("", [&] { return work(*db); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
    if (status || status.error().kind != ErrorKind::kUnavailable) idle_.push_back(std::move(db));
  }
  cv_.notify_one();
  return status;
}

}  // namespace dw::server
