#include "store/goldenset_repo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_database.h"

namespace dw::store {
namespace {

using ::testing::HasSubstr;

GoldenSet SampleSet(const std::string& expected = "30 days") {
  GoldenSet set;
  set.name = "faq";
  set.description = "refunds";
  for (int i = 0; i < 3; ++i) {
    GoldenCase c;
    c.id = "case-" + std::to_string(i);
    c.vars = {{"question", "q" + std::to_string(i)}, {"expected", expected}};
    c.asserts = nlohmann::json::parse(R"([{"type":"icontains","value":"{{expected}}","weight":1}])");
    c.tags = {"refunds"};
    set.cases.push_back(c);
  }
  return set;
}

PublishRequest Request(GoldenSet set) { return PublishRequest{std::move(set), "native", "faq.yaml", "tester"}; }

TEST(PublishGoldenSet, StoresVersionOneWithManifestAndCases) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto v = PublishGoldenSet(*db, Request(SampleSet()));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->created);
  EXPECT_EQ(v->version, 1);
  EXPECT_EQ(v->case_count, 3);
  EXPECT_EQ(v->manifest_sha256, SampleSet().ManifestHash());
  auto loaded = LoadCases(*db, v->id);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->cases.size(), 3u);
  EXPECT_EQ(loaded->cases[1].ContentHash(), SampleSet().cases[1].ContentHash());
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM audit.event WHERE action = 'goldenset.publish'"), "1");
}

TEST(PublishGoldenSet, IdenticalContentIsANoOp) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(PublishGoldenSet(*db, Request(SampleSet())));
  auto again = PublishGoldenSet(*db, Request(SampleSet()));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM core.golden_set_version"), "1");
}

TEST(PublishGoldenSet, ChangedContentGetsTheNextVersion) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(PublishGoldenSet(*db, Request(SampleSet())));
  auto v2 = PublishGoldenSet(*db, Request(SampleSet("thirty days")));
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->created);
  EXPECT_EQ(v2->version, 2);
  auto latest = FindVersion(*db, "faq", std::nullopt);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->version, 2);
  auto first = FindVersion(*db, "faq", 1);
  ASSERT_TRUE(first);
  EXPECT_NE(first->manifest_sha256, v2->manifest_sha256);
}

TEST(GoldenSetImmutability, UpdatingAPublishedCaseIsRefusedByTheDatabase) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(PublishGoldenSet(*db, Request(SampleSet())));
  EXPECT_THAT(tdb.Exec("UPDATE core.golden_set_case SET body = '{}' WHERE case_id = 'case-0'"),
              HasSubstr("rows are immutable"));
  EXPECT_THAT(tdb.Exec("DELETE FROM core.golden_set_case"), HasSubstr("rows are immutable"));
  EXPECT_THAT(tdb.Exec("TRUNCATE core.golden_set_case CASCADE"), HasSubstr("not allowed"));
  EXPECT_THAT(tdb.Exec("UPDATE core.golden_set_version SET case_count = 99"), HasSubstr("rows are immutable"));
  EXPECT_EQ(tdb.Query("SELECT body->'vars'->>'expected' FROM core.golden_set_case WHERE case_id = 'case-0'"),
            "30 days");
}

TEST(GoldenSetImmutability, AddingACaseToAPublishedVersionIsRefused) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  auto v = PublishGoldenSet(*db, Request(SampleSet()));
  ASSERT_TRUE(v);
  EXPECT_THAT(tdb.Exec("INSERT INTO core.golden_set_case (golden_set_version_id, case_id, ordinal, content_sha256, "
                       "body) VALUES (" + std::to_string(v->id) + ", 'sneaky', 9, repeat('a', 64), '{}')"),
              HasSubstr("already published"));
}

TEST(FindVersion, UnknownNameAndVersionAreNotFound) {
  testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(PublishGoldenSet(*db, Request(SampleSet())));
  auto missing = FindVersion(*db, "nope", std::nullopt);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  auto missing_version = FindVersion(*db, "faq", 7);
  ASSERT_FALSE(missing_version);
  EXPECT_THAT(missing_version.error().message, HasSubstr("has no version 7"));
}

TEST(ParseVersionRef, AcceptsNameAndNameAtVersionOnly) {
  auto plain = ParseVersionRef("faq");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->second.has_value());
  auto pinned = ParseVersionRef("faq@12");
  ASSERT_TRUE(pinned);
  EXPECT_EQ(*pinned->second, 12);
  EXPECT_FALSE(ParseVersionRef("faq@x"));
  EXPECT_FALSE(ParseVersionRef("@3"));
}

}  // namespace
}  // namespace dw::store
