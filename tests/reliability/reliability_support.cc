#include "reliability/reliability_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace dw::testing {

std::string ChatTargetYaml(const std::string& name, const std::string& base_url, const std::string& extra) {
  return "  " + name +
         ":\n"
         "    provider: openai-chat\n"
         "    base_url: " +
         base_url +
         "\n"
         "    model: gpt-test\n"
         "    api_key_env: " +
         kReliabilityKeyEnv +
         "\n"
         "    prompt: \"{{question}}\"\n" +
         extra;
}

std::string GoldenSetYaml(const std::string& name, const std::vector<std::pair<std::string, std::string>>& cases) {
  std::string yaml = "name: " + name + "\ncases:\n";
  for (const auto& [id, question] : cases)
    yaml +=
        "  - id: " + id + "\n    vars: {question: \"" + question + "\"}\n    assert: [{type: icontains, value: ok}]\n";
  return yaml;
}

std::uint16_t ClosedLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), size);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  close(fd);
  return ntohs(address.sin_port);
}

long long QueryInt(const TestDatabase& db, const std::string& sql) {
  std::string value = db.Query(sql);
  char* end = nullptr;
  long long n = std::strtoll(value.c_str(), &end, 10);
  return value.empty() || *end != '\0' ? -1 : n;
}

}  // namespace dw::testing
