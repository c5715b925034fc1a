#include "queue_fixture.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "core/golden_case.h"
#include "core/ids.h"
#include "store/goldenset_repo.h"
#include "store/run_repo.h"

namespace dw::sched::testing {

std::string PublishGoldenSet(store::Database& db, const std::string& name, int cases) {
  store::PublishRequest request;
  request.set.name = name;
  for (int i = 0; i < cases; ++i) {
    GoldenCase c;
    char id[16];
    std::snprintf(id, sizeof id, "c%03d", i);
    c.id = id;
    c.vars = {{"question", "q" + std::to_string(i)}, {"expected", "a" + std::to_string(i)}};
    c.asserts = nlohmann::json::array({{{"type", "contains"}, {"value", "a" + std::to_string(i)}}});
    request.set.cases.push_back(c);
  }
  request.source_format = "native";
  request.source_file = name + ".yaml";
  request.published_by = "tester";
  auto published = store::PublishGoldenSet(db, request);
  EXPECT_TRUE(published) << (published ? "" : published.error().message);
  if (!published) return name;
  return name + "@" + std::to_string(published->version);
}

long long VersionId(store::Database& db, const std::string& ref) {
  auto parsed = store::ParseVersionRef(ref);
  EXPECT_TRUE(parsed);
  auto version = store::FindVersion(db, parsed->first, parsed->second);
  EXPECT_TRUE(version) << (version ? "" : version.error().message);
  return version ? version->id : 0;
}

JobSpec ApiJob(const std::string& goldenset, const std::string& target, int max_attempts) {
  JobSpec spec;
  spec.goldenset = goldenset;
  spec.target = target;
  spec.trigger = "api";
  spec.requested_by = "tester";
  spec.max_attempts = max_attempts;
  return spec;
}

Job MustEnqueue(store::Database& db, const JobSpec& spec) {
  auto job = EnqueueJob(db, spec, "tester");
  EXPECT_TRUE(job) << (job ? "" : job.error().message);
  EXPECT_TRUE(job && *job);
  return job && *job ? **job : Job{};
}

StoreWritingRunner::StoreWritingRunner(std::chrono::milliseconds per_result, long long golden_set_version_id)
    : per_result_(per_result), version_id_(golden_set_version_id) {}

Result<JobOutcome> StoreWritingRunner::Run(const Job& job, const JobContext& context) {
  auto db = store::Database::Connect(context.database_url);
  if (!db) return Fail(db.error());
  std::string run_id = job.run_id;
  if (run_id.empty()) {
    store::RunSpec spec;
    spec.run_id = NewUuid();
    spec.golden_set_version_id = version_id_;
    spec.target_name = job.target;
    spec.target_version_hash = std::string(64, 'a');
    spec.target_provider = "sim";
    spec.target_spec = {{"name", job.target}};
    spec.scorer_name = "test-scorer";
    spec.scorer_spec = {{"engine", "test"}};
    spec.repeats = job.repeats;
    spec.trigger = job.trigger;
    spec.requested_by = job.requested_by;
    spec.runner_build = "test";
    spec.runner_host = "test";
    auto created = store::CreateRun(**db, spec);
    if (!created) return Fail(created.error());
    run_id = created->id;
  } else if (auto s = store::ReopenRun(**db, run_id, job.requested_by); !s) {
    return Fail(s.error());
  }
  auto run = store::GetRun(**db, run_id);
  if (!run) return Fail(run.error());
  auto done = store::CompletedKeys(**db, run_id);
  if (!done) return Fail(done.error());
  auto cases = store::LoadCases(**db, version_id_);
  if (!cases) return Fail(cases.error());
  auto writer = store::ResultWriter::Open(context.database_url, run_id, 1, 100, 0);
  if (!writer) return Fail(writer.error());
  bool cancelled = false;
  int written_now = 0;
  for (const auto& c : cases->cases) {
    for (int repeat = 0; repeat < job.repeats; ++repeat) {
      if (done->count(store::ResultKey(c.id, repeat))) continue;
      if (context.cancel->load()) {
        cancelled = true;
        break;
      }
      std::this_thread::sleep_for(per_result_);
      ReplayResult r;
      r.case_id = c.id;
      r.repeat = repeat;
      r.outcome = Outcome::kPass;
      r.score = 1.0;
      r.output = "answer " + c.id;
      r.attempts = 1;
      if (auto s = (*writer)->Add(r); !s) return Fail(s.error());
      if (auto s = (*writer)->Flush(); !s) return Fail(s.error());
      ++written_;
      ++written_now;
    }
    if (cancelled) break;
  }
  nlohmann::json summary = {{"results", static_cast<int>(done->size()) + written_now}};
  if (auto s = store::FinishRun(**db, run_id, cancelled ? "cancelled" : "done", summary, "", job.requested_by); !s)
    return Fail(s.error());
  return JobOutcome{cancelled, run_id, cancelled ? "cancelled" : "finished"};
}

pid_t Fork(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    std::fflush(nullptr);
    _exit(code);
  }
  EXPECT_GT(pid, 0) << "fork failed";
  return pid;
}

int WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

long long QueryInt(const dw::testing::TestDatabase& tdb, const std::string& sql) {
  std::string text = tdb.Query(sql);
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') return -1;
  return v;
}

}  // namespace dw::sched::testing
