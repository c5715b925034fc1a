// ResultWriter against a real PostgreSQL: what the database lets it store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <pqxx/pqxx>

#include "core/ids.h"
#include "store/goldenset_repo.h"
#include "store/run_repo.h"
#include "support/test_database.h"

namespace dw::store {
namespace {

using ::testing::HasSubstr;

class ResultWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tdb_.Connect();
    GoldenSet set;
    set.name = "guarded";
    for (int i = 0; i < 3; ++i) {
      GoldenCase c;
      c.id = "case-" + std::to_string(i);
      c.vars = {{"question", "q" + std::to_string(i)}};
      c.asserts = nlohmann::json::parse(R"([{"type":"icontains","value":"a"}])");
      set.cases.push_back(c);
    }
    auto version = PublishGoldenSet(*db_, PublishRequest{std::move(set), "native", "guarded.yaml", "tester"});
    ASSERT_TRUE(version) << version.error().message;
    RunSpec spec;
    spec.run_id = NewUuid();
    spec.golden_set_version_id = version->id;
    spec.target_name = "bot";
    spec.target_version_hash = std::string(64, 'a');
    spec.target_provider = "sim";
    spec.target_model = "sim-1";
    spec.target_spec = {{"provider", "sim"}};
    spec.scorer_name = "driftwatch-assertions";
    spec.scorer_spec = {{"engine", "driftwatch-assertions/1"}};
    spec.requested_by = "tester";
    auto run = CreateRun(*db_, spec);
    ASSERT_TRUE(run) << run.error().message;
    run_id_ = run->id;
  }

  static ReplayResult Passed(const std::string& case_id) {
    ReplayResult r;
    r.case_id = case_id;
    r.outcome = Outcome::kPass;
    r.score = 1.0;
    r.output = "an answer";
    r.request_hash = std::string(64, 'b');
    r.scores.push_back(ScoreRow{"0:icontains", 1.0, true, 1.0, "Assertion passed"});
    return r;
  }

  long long Count(const std::string& table) {
    long long n = -1;
    Status read = db_->Transact([&](pqxx::dbtransaction& tx) {
      n = tx.exec_params1("SELECT count(*) FROM " + table + " WHERE run_id = $1", run_id_)[0].as<long long>();
      return Ok();
    });
    EXPECT_TRUE(read) << read.error().message;
    return n;
  }

  testing::TestDatabase tdb_;
  std::unique_ptr<Database> db_;
  std::string run_id_;
};

TEST_F(ResultWriterTest, StoresEachResultWithItsScoresWhileTheRunIsRunning) {
  auto writer = ResultWriter::Open(tdb_.url(), run_id_);
  ASSERT_TRUE(writer) << writer.error().message;
  ASSERT_TRUE((*writer)->Add(Passed("case-0")));
  ASSERT_TRUE((*writer)->Add(Passed("case-1")));
  ASSERT_TRUE((*writer)->Flush());
  EXPECT_EQ(Count("run.result"), 2);
  EXPECT_EQ(Count("run.score"), 2);
}

TEST_F(ResultWriterTest, ABatchSentAgainStoresNothingTwice) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto writer = ResultWriter::Open(tdb_.url(), run_id_);
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE((*writer)->Add(Passed("case-0")));
    ASSERT_TRUE((*writer)->Flush());
  }
  EXPECT_EQ(Count("run.result"), 1);
  EXPECT_EQ(Count("run.score"), 1);
}

TEST_F(ResultWriterTest, AFinishedRunRefusesNewResultsAndKeepsItsOwn) {
  {
    auto writer = ResultWriter::Open(tdb_.url(), run_id_);
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE((*writer)->Add(Passed("case-0")));
    ASSERT_TRUE((*writer)->Flush());
  }
  ASSERT_TRUE(FinishRun(*db_, run_id_, "done", nlohmann::json::object(), "", "tester"));
  auto writer = ResultWriter::Open(tdb_.url(), run_id_, 1000, 20000, /*retry_seconds=*/0);
  ASSERT_TRUE(writer) << writer.error().message;
  Status added = (*writer)->Add(Passed("case-1"));
  Status flushed = added ? (*writer)->Flush() : added;
  ASSERT_FALSE(flushed);
  EXPECT_THAT(flushed.error().message, HasSubstr("is not running; its results are final"));
  EXPECT_EQ(Count("run.result"), 1);
  EXPECT_EQ(Count("run.score"), 1);
}

}  // namespace
}  // namespace dw::store
