// A scoring::ModelGrader backed by real targets: the judge target (any
// provider kind; called with {system, user} messages) for llm-rubric and
// factuality, and an OpenAI-compatible /embeddings endpoint for `similar`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/status.h"
#include "scoring/grader.h"

namespace dw::replay {

// Owns one io_context thread on which the judge provider and the embeddings
// client run. Grade() and Embed() are synchronous, thread-safe and may be
// called from many scoring threads at once.
class ProviderGrader : public scoring::ModelGrader {
 public:
  // `judge` may be null (then Grade fails), likewise `embeddings`. The
  // judge's prompt/messages are replaced by {system, user} messages; its
  // model, params, retries and timeouts are kept and pinned by version hash.
  static Result<std::unique_ptr<ProviderGrader>> Create(const config::TargetConfig* judge,
                                                        const config::TargetConfig* embeddings);
  ~ProviderGrader() override;

  std::string Id() const override { return id_; }
  Result<scoring::GraderReply> Grade(const scoring::GradingPrompt& prompt) override;
  Result<std::vector<double>> Embed(std::string_view text) override;

 private:
  ProviderGrader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string id_;
};

}  // namespace dw::replay
