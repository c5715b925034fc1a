// TZif time-zone files (RFC 8536) from hostile bytes: FromTzif must accept
// or refuse with a message, and an accepted zone must give contiguous spans
// and offsets within RFC 8536's range.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "fuzz_check.h"
#include "sched/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const std::int64_t probe = input.ConsumeIntegralInRange<std::int64_t>(-4102444800, 7258118400);  // 1840..2200
  const std::string tzif = input.ConsumeRemainingBytesAsString();
  auto zone = dw::sched::TimeZone::FromTzif("Fuzz/Zone", tzif);
  if (!zone) {
    DW_FUZZ_CHECK(zone.error().kind == dw::ErrorKind::kInvalidInput, zone.error().message);
    return 0;
  }
  const auto span = zone->SpanAt(probe);
  DW_FUZZ_CHECK(span.begin <= probe && probe < span.end, "span does not contain the probe " + std::to_string(probe));
  // RFC 8536 section 3.2: offsets from -89999 to 93599 seconds.
  DW_FUZZ_CHECK(span.offset >= -89999 && span.offset <= 93599, "offset " + std::to_string(span.offset));
  if (span.end != std::numeric_limits<std::int64_t>::max()) {
    const auto following = zone->SpanAt(span.end);
    DW_FUZZ_CHECK(following.begin == span.end && following.previous_offset == span.offset,
                  "spans are not contiguous at " + std::to_string(span.end));
  }
  const dw::sched::TimePoint t{std::chrono::seconds(probe)};
  DW_FUZZ_CHECK(zone->UtcOffset(t) == std::chrono::seconds(span.offset), "UtcOffset disagrees with SpanAt");
  auto hourly = dw::sched::ParseCron("30 * * * *");
  if (auto next = dw::sched::NextFire(*hourly, *zone, t)) DW_FUZZ_CHECK(*next > t, std::string("fire not after start"));
  return 0;
}
