#include "provider_test_util.h"

#include <gtest/gtest.h>

#include "support/fault_server.h"

namespace dw::providers::testing {

std::vector<CallResult> RunCalls(Provider& provider, boost::asio::io_context& io, const std::vector<GoldenCase>& cases,
                                 int repeat, const std::string& run_salt, std::chrono::seconds limit) {
  std::vector<CallResult> results(cases.size());
  std::vector<int> done_count(cases.size(), 0);
  size_t finished = 0;
  io.restart();
  for (size_t i = 0; i < cases.size(); ++i) {
    provider.Call(CallRequest::For(cases[i], repeat, run_salt), [&, i](CallResult result) {
      results[i] = std::move(result);
      ++done_count[i];
      ++finished;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (finished < cases.size() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(50));
    io.restart();
  }
  EXPECT_EQ(finished, cases.size()) << "calls still pending after " << limit.count() << " s";
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_LE(done_count[i], 1) << "done invoked twice for case " << i;
  return results;
}

CallResult RunCall(Provider& provider, boost::asio::io_context& io, const GoldenCase& golden_case) {
  return RunCalls(provider, io, {golden_case}).front();
}

GoldenCase Case(const std::string& id, nlohmann::json vars) {
  GoldenCase c;
  c.id = id;
  c.vars = std::move(vars);
  return c;
}

std::string ChatBody(const std::string& content, const std::string& finish_reason,
                     const nlohmann::json& message_extra) {
  return dw::testing::ChatCompletionBody(content, finish_reason, message_extra);
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace dw::providers::testing
