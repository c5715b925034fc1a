#include "stats/policy.h"

namespace dw::stats {
namespace {

bool InOpenUnit(double value) { return value > 0 && value < 1; }

}  // namespace

Status Policy::Validate() const {
  const auto bad = [](const std::string& field, const std::string& rule) {
    return Fail(ErrorKind::kInvalidInput, "policy." + field + " must be " + rule);
  };
  if (!InOpenUnit(alpha)) return bad("alpha", "in (0, 1)");
  if (!InOpenUnit(fdr_q)) return bad("fdr_q", "in (0, 1)");
  if (!(delta_min >= 0)) return bad("delta_min", ">= 0");
  if (!(ni_margin > 0)) return bad("ni_margin", "> 0");
  if (min_cases < 1) return bad("min_cases", ">= 1");
  if (permutations < 1) return bad("permutations", ">= 1");
  if (bootstrap < 1) return bad("bootstrap", ">= 1");
  if (!InOpenUnit(ci_level)) return bad("ci_level", "in (0, 1)");
  if (!(ni_alpha > 0 && ni_alpha < 0.5)) return bad("ni_alpha", "in (0, 0.5)");
  if (!InOpenUnit(power)) return bad("power", "in (0, 1)");
  if (!InOpenUnit(mde_alpha)) return bad("mde_alpha", "in (0, 1)");
  if (mcnemar_asymptotic_min < 1) return bad("mcnemar_asymptotic_min", ">= 1");
  if (!(ratio_delta_min >= 0)) return bad("ratio_delta_min", ">= 0");
  if (!(ratio_ni_margin > 0)) return bad("ratio_ni_margin", "> 0");
  if (!(text_delta_min >= 0)) return bad("text_delta_min", ">= 0");
  if (!InOpenUnit(text_null_quantile)) return bad("text_null_quantile", "in (0, 1)");
  if (threads < 1) return bad("threads", ">= 1");
  return Ok();
}

nlohmann::json Policy::ToJson() const {
  return {{"primary_metric", primary_metric},
          {"alpha", alpha},
          {"fdr_q", fdr_q},
          {"delta_min", delta_min},
          {"ni_margin", ni_margin},
          {"min_cases", min_cases},
          {"permutations", permutations},
          {"bootstrap", bootstrap},
          {"ci_level", ci_level},
          {"ni_alpha", ni_alpha},
          {"power", power},
          {"mde_alpha", mde_alpha},
          {"mcnemar_asymptotic_min", mcnemar_asymptotic_min},
          {"ratio_delta_min", ratio_delta_min},
          {"ratio_ni_margin", ratio_ni_margin},
          {"text_delta_min", text_delta_min},
          {"text_null_quantile", text_null_quantile}};
}

}  // namespace dw::stats
