// End-to-end: the real driftwatch binary on a real PostgreSQL database runs a
// baseline, gets it signed off, runs a drifted candidate, has its review
// rejected, and writes the evidence pack, which headless Chromium renders.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "report/markup_check.h"
#include "report/png_image.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Config(double accuracy) {
  return "targets:\n  bot:\n    provider: sim\n    model: sim-support\n    prompt: \"Answer: {{question}}\"\n"
         "    sim: {accuracy: " +
         std::to_string(accuracy) + ", latency_ms: 0, seed: 3}\n";
}

std::string GoldenSet() {
  std::string cases = "name: faq\ncases:\n";
  for (int i = 0; i < 120; ++i) {
    std::string expected = i == 7 ? "<script>alert(7)</script>" : "a" + std::to_string(i);
    cases += "  - id: c" + std::to_string(i) + "\n    description: question " + std::to_string(i) + "\n    tags: [" +
             (i % 2 ? "billing" : "shipping") + "]\n    vars: {question: \"q" + std::to_string(i) +
             "?\", expected: \"" + expected + "\"}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
  }
  return cases;
}

// Where the binary runs: a temporary directory with a driftwatch.yaml.
class Workspace {
 public:
  explicit Workspace(std::string url) : url_(std::move(url)) {}
  const std::filesystem::path& path() const { return dir_.path(); }
  void Write(const std::string& name, const std::string& text) const { dir_.WriteFile(name, text); }

  // Runs driftwatch with `args` (shell words); returns its exit code, its
  // standard output and error in `out`.
  int Run(const std::string& args, std::string* out = nullptr) const {
    std::string cmd = "cd " + dir_.path().string() + " && DRIFTWATCH_DATABASE_URL='" + url_ + "' " + DRIFTWATCH_EXE +
                      " " + args + " > out.txt 2>&1";
    int status = std::system(cmd.c_str());
    if (out) *out = dw::testing::ReadFile(dir_.path() / "out.txt");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string url_;
  dw::testing::TempDir dir_;
};

class EvidencePackTest : public ::testing::Test {
 protected:
  // One scenario for the suite: baseline signed off by two people, a drifted
  // candidate of the same target, its review requested and rejected.
  static void SetUpTestSuite() {
    db_ = std::make_unique<dw::testing::TestDatabase>();
    ws_ = std::make_unique<Workspace>(db_->url());
    auto step = [](const std::string& args, int expected_exit) {
      std::string out;
      int code = ws_->Run(args, &out);
      if (code != expected_exit && setup_error_.empty())
        setup_error_ = "`driftwatch " + args + "` exited " + std::to_string(code) + ":\n" + out;
    };
    ws_->Write("driftwatch.yaml", Config(0.95));
    ws_->Write("faq.yaml", GoldenSet());
    step("goldenset publish faq.yaml --as maria", 0);
    step("run -g faq -t bot -r 2 -q --as ci", 0);
    baseline_ = db_->Query("SELECT id FROM run.run ORDER BY created_at LIMIT 1");
    step("review request " + baseline_ + " --env production --as maria", 0);
    first_review_ = db_->Query("SELECT id FROM gov.review WHERE run_id = '" + baseline_ + "'");
    step("review approve " + first_review_ + " --as ana", 0);
    step("review approve " + first_review_ + " --as li", 0);
    ws_->Write("driftwatch.yaml", Config(0.6));
    step("run -g faq -t bot -r 2 -q --as ci", 1);  // a critical regression
    candidate_ = db_->Query("SELECT id FROM run.run ORDER BY created_at DESC LIMIT 1");
    step("review request " + candidate_ + " --env production --note '<script>alert(1)</script> v2' --as maria", 0);
    review_ = db_->Query("SELECT id FROM gov.review WHERE run_id = '" + candidate_ + "'");
    step("review reject " + review_ + " --reason 'pass rate fell <b>sharply</b>' --as ana", 0);
    step("report " + candidate_.substr(0, 8) + " --format html -o pack.html", 0);
    html_ = dw::testing::ReadFile(ws_->path() / "pack.html");
  }

  static void TearDownTestSuite() {
    ws_.reset();
    db_.reset();
  }

  void SetUp() override { ASSERT_EQ(setup_error_, ""); }

  static inline std::unique_ptr<dw::testing::TestDatabase> db_;
  static inline std::unique_ptr<Workspace> ws_;
  static inline std::string setup_error_, baseline_, candidate_, first_review_, review_, html_;
};

TEST_F(EvidencePackTest, LeadsWithThePlainLanguageVerdict) {
  EXPECT_THAT(html_, HasSubstr("<section class=\"verdict bad\"><p class=\"word\">regressed</p>"));
  EXPECT_THAT(html_, HasSubstr("Candidate is worse than baseline on pass rate: \u2212"));
  EXPECT_THAT(html_, HasSubstr("(95% CI \u2212"));
}

TEST_F(EvidencePackTest, NamesTheVersionsAndHashesOfBothRuns) {
  for (const std::string& run : {baseline_, candidate_}) {
    EXPECT_THAT(html_, HasSubstr(run));
    std::string target_version = db_->Query(
        "SELECT t.version_hash FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
        "WHERE r.id = '" +
        run + "'");
    EXPECT_THAT(html_, HasSubstr("<code class=\"hash\">" + target_version + "</code>"));
  }
  EXPECT_THAT(html_, HasSubstr(db_->Query("SELECT manifest_sha256 FROM core.golden_set_version")));
  EXPECT_THAT(html_, HasSubstr(db_->Query("SELECT version_hash FROM core.scorer_version LIMIT 1")));
  EXPECT_THAT(html_, HasSubstr("<tr class=\"changed\"><td>Target version hash</td>"));
}

TEST_F(EvidencePackTest, BindsTheSameComparisonAndEvidenceHashesAsTheDatabase) {
  std::string comparison =
      db_->Query("SELECT result_sha256 FROM run.comparison WHERE candidate_run_id = '" + candidate_ + "'");
  ASSERT_EQ(comparison.size(), 64u);
  EXPECT_THAT(html_, HasSubstr("<tr><td>Comparison sha256</td><td><code class=\"hash\">" + comparison));
  std::string evidence = db_->Query("SELECT evidence_sha256 FROM gov.review WHERE id = '" + review_ + "'");
  EXPECT_THAT(html_, HasSubstr("Evidence manifest sha256 <code class=\"hash\">" + evidence));
  EXPECT_THAT(html_, HasSubstr("still hashes to this value"));
}

TEST_F(EvidencePackTest, SetsRegressedCasesSideBySide) {
  std::string regressed =
      db_->Query("SELECT count(*) FROM (SELECT case_id FROM run.result WHERE run_id IN ('" + baseline_ + "', '" +
                 candidate_ + "') GROUP BY case_id HAVING avg((outcome = 'pass' AND run_id = '" + baseline_ +
                 "')::int) * 2 > "
                 "avg((outcome = 'pass' AND run_id = '" +
                 candidate_ + "')::int) * 2) x");
  ASSERT_GT(std::stoi(regressed), 10);
  EXPECT_THAT(html_, HasSubstr(regressed + " cases passed less often on the candidate than on the baseline"));
  std::string one = db_->Query(
      "SELECT b.case_id FROM run.result b JOIN run.result k ON k.case_id = b.case_id "
      "AND k.repeat = b.repeat AND k.run_id = '" +
      candidate_ + "' WHERE b.run_id = '" + baseline_ +
      "' AND b.outcome = 'pass' AND k.outcome = 'fail' ORDER BY 1 LIMIT 1");
  EXPECT_THAT(html_, HasSubstr("<article class=\"case\"><h3>" + one + "<span class=\"tag\">"));
  EXPECT_THAT(html_, HasSubstr("<div class=\"side baseline\">"));
  EXPECT_THAT(html_, HasSubstr("<div class=\"side candidate\">"));
  EXPECT_THAT(html_, HasSubstr("<dt>question</dt><dd>q"));
}

TEST_F(EvidencePackTest, RecordsTheDecisionTrailAndEscapesWhatPeopleWrote) {
  EXPECT_THAT(html_, HasSubstr("<td>maria</td><td>requested sign-off for production</td>"));
  EXPECT_THAT(html_, HasSubstr("<td>ana</td><td>rejected</td><td>pass rate fell &lt;b&gt;sharply&lt;/b&gt;</td>"));
  EXPECT_THAT(html_, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt; v2"));
  EXPECT_THAT(html_, HasSubstr("No critical regression"));
  EXPECT_THAT(html_, Not(HasSubstr("<script")));
  EXPECT_THAT(html_, Not(HasSubstr("<b>sharply")));
}

TEST_F(EvidencePackTest, ChartsTheRunHistoryAndTheDriftDetector) {
  EXPECT_THAT(html_, HasSubstr("<figcaption><b>Pass rate by run</b>"));
  EXPECT_THAT(html_, HasSubstr("<figcaption><b>Drift detector on pass rate</b>"));
  EXPECT_EQ(testing::CountOf(html_, "<svg "), 2u);
  EXPECT_THAT(html_, HasSubstr(">signed-off baseline "));
}

TEST_F(EvidencePackTest, ReportsTheAuditChainAsVerified) {
  std::string events = db_->Query("SELECT count(*) FROM audit.event");
  EXPECT_THAT(html_, HasSubstr("The audit trail is intact: " + events + " hash-chained events were verified"));
}

TEST_F(EvidencePackTest, IsWellFormedSelfContainedMarkup) {
  EXPECT_EQ(testing::WellFormednessError(html_), "");
  EXPECT_TRUE(testing::IsValidUtf8(html_));
  for (const char* banned : {"http:", "https:", "<script", "<link", "url("})
    EXPECT_THAT(html_, Not(HasSubstr(banned))) << banned;
  EXPECT_FALSE(std::regex_search(html_, std::regex(R"(<[^>]*\s(src|href|xlink:href)=)")));
}

TEST_F(EvidencePackTest, AReviewIdAloneGivesThePackOfItsRun) {
  std::string out;
  ASSERT_EQ(ws_->Run("report --review " + review_.substr(0, 8) + " --format html", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(out, HasSubstr("Candidate run <code>" + candidate_ + "</code>"));
  EXPECT_THAT(out, HasSubstr("Review <code>" + review_.substr(0, 8) + "</code> for <b>production</b>"));
}

TEST_F(EvidencePackTest, AFirstSignOffHasNoComparisonButShowsThePointerMoves) {
  std::string out;
  ASSERT_EQ(ws_->Run("report " + baseline_ + " --format html -o first.html", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("no baseline comparison, review " + first_review_.substr(0, 8) + " approved"));
  std::string html = dw::testing::ReadFile(ws_->path() / "first.html");
  EXPECT_THAT(html, HasSubstr("<p class=\"word\">No baseline comparison</p>"));
  EXPECT_THAT(html, HasSubstr("<td>ana, li</td><td>moved the production baseline pointer to run " +
                              baseline_.substr(0, 8) + "</td><td>first baseline</td>"));
  EXPECT_EQ(testing::WellFormednessError(html), "");
}

TEST_F(EvidencePackTest, AReviewOfAnotherRunIsRefused) {
  std::string out;
  EXPECT_EQ(ws_->Run("report " + baseline_ + " --review " + review_ + " --format html -o wrong.html", &out), 2);
  EXPECT_THAT(out, HasSubstr("is about run " + candidate_.substr(0, 8) + ", not run " + baseline_.substr(0, 8)));
  EXPECT_FALSE(std::filesystem::exists(ws_->path() / "wrong.html"));
}

TEST_F(EvidencePackTest, HtmlOptionsAreRefusedWithOtherFormats) {
  std::string out;
  EXPECT_EQ(ws_->Run("report " + candidate_ + " --review " + review_, &out), 2);
  EXPECT_THAT(out, HasSubstr("--review, --cases and --out are options of --format html"));
  EXPECT_EQ(ws_->Run("report --format html", &out), 2);
  EXPECT_THAT(out, HasSubstr("--format html needs a RUN id or --review ID"));
}

// The browser to render with: $DRIFTWATCH_CHROMIUM, else chromium on PATH.
std::string FindChromium() {
  if (const char* env = std::getenv("DRIFTWATCH_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  return "";
}

TEST_F(EvidencePackTest, HeadlessChromiumRendersANonBlankScreenshot) {
  std::string browser = FindChromium();
  ASSERT_FALSE(browser.empty())
      << "headless Chromium is required (Debian package chromium, installed by scripts/install-deps.sh)";
  dw::testing::TempDir scratch;
  std::filesystem::path png = scratch.path() / "pack.png";
  std::string cmd = "timeout 120 " + browser +
                    " --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
                    "--force-device-scale-factor=1 --user-data-dir=" +
                    (scratch.path() / "profile").string() + " --window-size=1200,1600 --screenshot=" + png.string() +
                    " file://" + (ws_->path() / "pack.html").string() + " > " +
                    (scratch.path() / "chromium.log").string() + " 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << "\n"
                                                             << dw::testing::ReadFile(scratch.path() / "chromium.log");
  std::string error;
  testing::RgbaImage image = testing::ReadPng(png.string(), &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(image.width, 1200);
  ASSERT_EQ(image.height, 1600);
  size_t ink = 0, banner = 0, total = static_cast<size_t>(image.width) * image.height;
  std::set<std::uint32_t> colours;
  for (size_t i = 0; i < total; ++i) {
    const std::uint8_t* p = &image.pixels[4 * i];
    colours.insert(p[0] << 16 | p[1] << 8 | p[2]);
    if (p[0] + p[1] + p[2] < 3 * 110) ++ink;
    // The "regressed, critical" banner's background, #b42318.
    if (std::abs(p[0] - 0xb4) <= 2 && std::abs(p[1] - 0x23) <= 2 && std::abs(p[2] - 0x18) <= 2) ++banner;
  }
  EXPECT_GT(ink, total / 200) << "too little text on the page";
  EXPECT_GT(banner, 20000u) << "the verdict banner is not visible";
  EXPECT_GT(colours.size(), 100u);
  std::filesystem::copy_file(png, std::filesystem::path(DRIFTWATCH_BINARY_DIR) / "evidence-pack-test.png",
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace
}  // namespace dw::report
