#include <gtest/gtest.h>

#include "store/goldenset_repo.h"
#include "store/run_repo.h"
#include "support/test_database.h"

namespace dw::store {
namespace {

// Publishes `n` cases named case-0 ... case-(n-1); returns the version id.
long long PublishCases(Database& db, int n) {
  GoldenSet set;
  set.name = "many";
  for (int i = 0; i < n; ++i) {
    GoldenCase c;
    c.id = "case-" + std::to_string(i);
    c.vars = {{"question", "q" + std::to_string(i)}};
    c.asserts = nlohmann::json::parse(R"([{"type":"icontains","value":"a"}])");
    set.cases.push_back(c);
  }
  auto version = PublishGoldenSet(db, PublishRequest{std::move(set), "native", "many.yaml", "tester"});
  EXPECT_TRUE(version) << version.error().message;
  return version ? version->id : 0;
}

TEST(CaseCursor, ASmallFirstBatchThenFullBatchesInPublicationOrder) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  long long version_id = PublishCases(*db, 300);
  auto cursor = CaseCursor::Open(tdb.url(), version_id, 150);
  ASSERT_TRUE(cursor) << cursor.error().message;
  std::vector<size_t> sizes;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto batch = (*cursor)->Next();
    ASSERT_TRUE(batch) << batch.error().message;
    sizes.push_back(batch->size());
    for (const auto& c : *batch) ids.push_back(c.id);
    if (batch->empty()) break;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{128, 150, 22, 0}));
  ASSERT_EQ(ids.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(ids[static_cast<size_t>(i)], "case-" + std::to_string(i));
}

TEST(CaseCursor, ABatchSizeBelowTheFirstBatchIsKept) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  long long version_id = PublishCases(*db, 5);
  auto cursor = CaseCursor::Open(tdb.url(), version_id, 2);
  ASSERT_TRUE(cursor) << cursor.error().message;
  std::vector<size_t> sizes;
  for (int i = 0; i < 10; ++i) {
    auto batch = (*cursor)->Next();
    ASSERT_TRUE(batch) << batch.error().message;
    sizes.push_back(batch->size());
    if (batch->empty()) break;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1, 0}));
}

}  // namespace
}  // namespace dw::store
