// Helpers for the queue, scheduler and worker tests: a published golden set,
// runners that behave like the replay (resumable, fenced writes), forked
// child processes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "sched/job_queue.h"
#include "sched/worker.h"
#include "store/database.h"
#include "support/test_database.h"

namespace dw::sched::testing {

// Publishes golden set `name` with `cases` cases ("c000", "c001", ...) and
// returns "name@version".
std::string PublishGoldenSet(store::Database& db, const std::string& name, int cases);

// A job spec for `target` against `goldenset` (trigger "api").
JobSpec ApiJob(const std::string& goldenset, const std::string& target, int max_attempts = 3);

// Enqueues `spec`; fails the test on error.
Job MustEnqueue(store::Database& db, const JobSpec& spec);

// A runner that does what the replay does, through the fenced URL only:
// creates the run (or reopens the job's run), skips results already stored,
// writes one result per case with a pause before each, and finishes the run.
// It stops early, finishing the run as cancelled, when *cancel is set.
class StoreWritingRunner : public JobRunner {
 public:
  StoreWritingRunner(std::chrono::milliseconds per_result, long long golden_set_version_id);
  Result<JobOutcome> Run(const Job& job, const JobContext& context) override;

  // Results this runner wrote (all jobs), and the runs it created.
  int written() const { return written_.load(); }

 private:
  std::chrono::milliseconds per_result_;
  long long version_id_;
  std::atomic<int> written_{0};
};

// Version id of "name@version".
long long VersionId(store::Database& db, const std::string& ref);

// A forked child process running `body`, whose return value is the exit
// status. The child never returns into the test framework.
pid_t Fork(const std::function<int()>& body);

// Waits up to `timeout` for `pid` to exit; returns its exit status, or -1
// (after SIGKILL) when it did not exit in time. A child killed by a signal
// returns 128 + the signal number.
int WaitExit(pid_t pid, std::chrono::milliseconds timeout);

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Query() as a number; -1 when it is not one.
long long QueryInt(const dw::testing::TestDatabase& tdb, const std::string& sql);

}  // namespace dw::sched::testing
