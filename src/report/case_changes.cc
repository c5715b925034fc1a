#include "report/case_changes.h"

#include <algorithm>
#include <map>

namespace dw::report {
namespace {

// The results of one run grouped by case, in repeat order.
std::map<std::string, std::vector<const ReplayResult*>> ByCase(const std::vector<ReplayResult>& results) {
  std::map<std::string, std::vector<const ReplayResult*>> cases;
  for (const auto& r : results) cases[r.case_id].push_back(&r);
  for (auto& [id, repeats] : cases)
    std::stable_sort(repeats.begin(), repeats.end(),
                     [](const ReplayResult* a, const ReplayResult* b) { return a->repeat < b->repeat; });
  return cases;
}

// `prefer_pass`: show the first passing repeat (baseline) or else the first
// scored non-passing one (candidate); falls back to the first repeat.
CaseSide Side(const std::vector<const ReplayResult*>& repeats, bool prefer_pass) {
  CaseSide side;
  const ReplayResult* shown = nullptr;
  for (const ReplayResult* r : repeats) {
    if (IsInfrastructureFailure(r->outcome)) continue;
    ++side.scored;
    const bool pass = r->outcome == Outcome::kPass;
    if (pass) ++side.passed;
    if (!shown && pass == prefer_pass) shown = r;
  }
  if (!shown && !repeats.empty()) shown = repeats.front();
  if (!shown) return side;
  side.repeat = shown->repeat;
  side.outcome = std::string(OutcomeName(shown->outcome));
  side.score = shown->score;
  side.output = shown->output;
  side.error_detail = shown->error_detail;
  for (const auto& s : shown->scores) side.scores.push_back({s.scorer, s.passed, s.value, s.reason});
  return side;
}

double Share(const CaseSide& side) { return static_cast<double>(side.passed) / side.scored; }

}  // namespace

CaseChanges CompareCases(const std::vector<ReplayResult>& baseline, const std::vector<ReplayResult>& candidate,
                         size_t limit) {
  CaseChanges changes;
  auto before = ByCase(baseline);
  std::vector<CaseChange> regressed;
  for (const auto& [id, repeats] : ByCase(candidate)) {
    auto it = before.find(id);
    if (it == before.end()) continue;
    CaseChange change;
    change.case_id = id;
    change.baseline = Side(it->second, true);
    change.candidate = Side(repeats, false);
    if (change.baseline.scored == 0 || change.candidate.scored == 0) continue;
    ++changes.compared;
    const double drop = Share(change.baseline) - Share(change.candidate);
    if (drop < 0) ++changes.improved_total;
    if (drop > 0) regressed.push_back(std::move(change));
  }
  changes.regressed_total = regressed.size();
  std::stable_sort(regressed.begin(), regressed.end(), [](const CaseChange& a, const CaseChange& b) {
    return Share(a.baseline) - Share(a.candidate) > Share(b.baseline) - Share(b.candidate);
  });
  if (regressed.size() > limit) regressed.resize(limit);
  changes.regressed = std::move(regressed);
  return changes;
}

}  // namespace dw::report
