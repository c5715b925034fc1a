#include "sched/cron.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>

namespace dw::sched {

namespace internal {

// Where a POSIX TZ rule puts a transition within a year.
struct RuleDate {
  enum class Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay };
  Kind kind = Kind::kMonthWeekDay;
  int day = 0;      // kJulianNoLeap: 1..365; kZeroBasedDay: 0..365
  int month = 1;    // kMonthWeekDay: 1..12
  int week = 1;     // kMonthWeekDay: 1..5, 5 = last
  int weekday = 0;  // kMonthWeekDay: 0 = Sunday
  std::int32_t time = 7200;  // local seconds after midnight, may be negative
};

// A TZif footer such as "CET-1CEST,M3.5.0,M10.5.0/3", offsets east of UTC.
struct PosixRule {
  std::int32_t std_offset = 0;
  bool has_dst = false;
  std::int32_t dst_offset = 0;
  RuleDate start;
  RuleDate end;
};

struct ZoneData {
  std::string name;
  std::vector<std::int64_t> times;     // transition instants, ascending
  std::vector<std::int32_t> offsets;   // offset in force from times[i]
  std::int32_t initial_offset = 0;     // before the first transition
  std::optional<PosixRule> rule;       // after the last transition
};

}  // namespace internal

namespace {

using internal::PosixRule;
using internal::RuleDate;
using internal::ZoneData;

constexpr std::int64_t kMinInstant = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxInstant = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kSecondsPerDay = 86400;
// The Gregorian calendar repeats every 400 years, so an expression that can
// fire at all fires within this horizon.
constexpr std::int64_t kSearchHorizon = 401LL * 366 * kSecondsPerDay;

// ---------------------------------------------------------------------------
// Civil calendar helpers.

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int year, unsigned month) {
  static constexpr std::array<unsigned, 13> kDays = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month];
}

std::int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  using namespace std::chrono;
  return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}}
      .time_since_epoch()
      .count();
}

struct CivilMinute {
  int year;
  unsigned month;
  unsigned day;
  unsigned hour;
  unsigned minute;
};

CivilMinute ToCivilMinute(std::int64_t local_seconds) {
  using namespace std::chrono;
  const std::int64_t days_since_epoch = FloorDiv(local_seconds, kSecondsPerDay);
  const std::int64_t second_of_day = local_seconds - days_since_epoch * kSecondsPerDay;
  const year_month_day ymd{sys_days{days{days_since_epoch}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<unsigned>(second_of_day / 3600),
          static_cast<unsigned>(second_of_day % 3600 / 60)};
}

int CivilYearOf(std::int64_t instant) {
  constexpr std::int64_t kMaxDays = 10'000'000;  // about 27,000 years either way
  const std::int64_t d = std::clamp(FloorDiv(instant, kSecondsPerDay), -kMaxDays, kMaxDays);
  using namespace std::chrono;
  return static_cast<int>(year_month_day{sys_days{days{d}}}.year());
}

unsigned WeekdayOf(std::int64_t days_since_epoch) {
  using namespace std::chrono;
  return weekday{sys_days{days{days_since_epoch}}}.c_encoding();
}

// ---------------------------------------------------------------------------
// Cron parsing.

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;          // highest value accepted in the text
  int star_max;     // highest value `*` and `a/n` reach
  const std::string_view* names;  // names[i] means value name_base + i
  int name_count;
  int name_base;
  std::string_view allowed;  // how error messages describe the accepted values
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, 59, nullptr, 0, 0, "0-59"},
    {"hour", 0, 23, 23, nullptr, 0, 0, "0-23"},
    {"day-of-month", 1, 31, 31, nullptr, 0, 0, "1-31"},
    {"month", 1, 12, 12, kMonthNames.data(), 12, 1, "1-12 or JAN-DEC"},
    {"day-of-week", 0, 7, 6, kDayNames.data(), 7, 0, "0-7 or SUN-SAT"},
}};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string_view> SplitBlanks(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !IsBlank(s[i])) ++i;
    if (i > start) parts.push_back(s.substr(start, i - start));
  }
  return parts;
}

// Parses a run of digits; values too large for int become INT_MAX so that
// the range check reports them.
int ParseDigits(std::string_view digits) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<int>::max();
  return value;
}

class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, std::string_view expr) : spec_(spec), expr_(expr) {}

  // Adds the field's values to `bits` (indexed by value, 7 folded to 0 for
  // day-of-week).
  template <std::size_t N>
  Status Parse(std::string_view field, std::bitset<N>& bits) const {
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = field.find(',', start);
      const std::string_view item =
          field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty()) return Invalid("empty list item in '" + std::string(field) + "'");
      auto range = ParseItem(item);
      if (!range) return Fail(range.error());
      for (int v = range->first; v <= range->last; v += range->step) bits.set(static_cast<std::size_t>(v % N));
      if (comma == std::string_view::npos) return Ok();
      start = comma + 1;
    }
  }

 private:
  struct Range {
    int first;
    int last;
    int step;
  };

  tl::unexpected<Error> Invalid(const std::string& detail) const {
    return Fail(ErrorKind::kInvalidInput, "cron field '" + std::string(spec_.name) + "': " + detail +
                                              " in \"" + std::string(expr_) + "\"");
  }

  Result<int> ParseValue(std::string_view token) const {
    if (token.empty()) return Invalid("missing value (expected " + std::string(spec_.allowed) + ")");
    if (AllDigits(token)) {
      const int value = ParseDigits(token);
      if (value < spec_.min || value > spec_.max) {
        return Invalid("value " + std::string(token) + " out of range " + std::to_string(spec_.min) + "-" +
                     std::to_string(spec_.max));
      }
      return value;
    }
    for (int i = 0; i < spec_.name_count; ++i) {
      if (EqualsIgnoreCase(token, spec_.names[i])) return spec_.name_base + i;
    }
    const bool alphabetic = std::all_of(token.begin(), token.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    });
    return Invalid(std::string(alphabetic && spec_.names != nullptr ? "unknown name '" : "invalid value '") +
                 std::string(token) + "' (expected " + std::string(spec_.allowed) + ")");
  }

  Result<Range> ParseItem(std::string_view item) const {
    Range range{spec_.min, spec_.star_max, 1};
    const std::size_t slash = item.find('/');
    const std::string_view base = item.substr(0, slash);
    if (slash != std::string_view::npos) {
      const std::string_view step = item.substr(slash + 1);
      if (step.empty()) return Invalid("missing step after '/' in '" + std::string(item) + "'");
      if (!AllDigits(step)) return Invalid("invalid step '" + std::string(step) + "' (expected a number)");
      range.step = ParseDigits(step);
      if (range.step < 1 || range.step > spec_.max) {
        return Invalid("step " + std::string(step) + " out of range 1-" + std::to_string(spec_.max));
      }
    }
    if (base == "*") return range;
    const std::size_t dash = base.find('-');
    auto first = ParseValue(base.substr(0, dash));
    if (!first) return Fail(first.error());
    range.first = *first;
    if (dash == std::string_view::npos) {
      range.last = slash == std::string_view::npos ? *first : std::max(*first, spec_.star_max);
      return range;
    }
    auto last = ParseValue(base.substr(dash + 1));
    if (!last) return Fail(last.error());
    if (*last < *first) {
      return Invalid("range '" + std::string(base) + "' is reversed (start must not exceed end)");
    }
    range.last = *last;
    return range;
  }

  const FieldSpec& spec_;
  std::string_view expr_;
};

// ---------------------------------------------------------------------------
// TZif and POSIX TZ rules.

class PosixTzParser {
 public:
  explicit PosixTzParser(std::string_view text) : text_(text) {}

  std::optional<PosixRule> Parse() {
    PosixRule rule;
    if (!SkipName()) return std::nullopt;
    auto std_offset = ParseTime(24);
    if (!std_offset) return std::nullopt;
    rule.std_offset = -*std_offset;
    if (AtEnd()) return rule;
    if (!SkipName()) return std::nullopt;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!AtEnd() && Peek() != ',') {
      auto dst_offset = ParseTime(24);
      if (!dst_offset) return std::nullopt;
      rule.dst_offset = -*dst_offset;
    }
    if (!Consume(',')) return std::nullopt;
    auto start = ParseRuleDate();
    if (!start || !Consume(',')) return std::nullopt;
    auto end = ParseRuleDate();
    if (!end || !AtEnd()) return std::nullopt;
    rule.start = *start;
    rule.end = *end;
    return rule;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  bool Consume(char c) {
    if (AtEnd() || Peek() != c) return false;
    ++pos_;
    return true;
  }

  bool SkipName() {
    const std::size_t start = pos_;
    if (Consume('<')) {
      while (!AtEnd() && Peek() != '>') ++pos_;
      return pos_ > start + 1 && Consume('>');
    }
    while (!AtEnd() && ((Peek() >= 'A' && Peek() <= 'Z') || (Peek() >= 'a' && Peek() <= 'z'))) ++pos_;
    return pos_ - start >= 3;
  }

  std::optional<int> ParseNumber() {
    const std::size_t start = pos_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
    if (pos_ == start || pos_ - start > 3) return std::nullopt;
    return ParseDigits(text_.substr(start, pos_ - start));
  }

  // [+-]hh[:mm[:ss]] in seconds; hours at most `max_hours`.
  std::optional<std::int32_t> ParseTime(int max_hours) {
    int sign = 1;
    if (Consume('-')) {
      sign = -1;
    } else {
      Consume('+');
    }
    auto hours = ParseNumber();
    if (!hours || *hours > max_hours) return std::nullopt;
    int minutes = 0;
    int seconds = 0;
    if (Consume(':')) {
      auto m = ParseNumber();
      if (!m || *m > 59) return std::nullopt;
      minutes = *m;
      if (Consume(':')) {
        auto s = ParseNumber();
        if (!s || *s > 59) return std::nullopt;
        seconds = *s;
      }
    }
    return sign * (*hours * 3600 + minutes * 60 + seconds);
  }

  std::optional<RuleDate> ParseRuleDate() {
    RuleDate date;
    if (Consume('J')) {
      date.kind = RuleDate::Kind::kJulianNoLeap;
      auto n = ParseNumber();
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      date.day = *n;
    } else if (Consume('M')) {
      date.kind = RuleDate::Kind::kMonthWeekDay;
      auto m = ParseNumber();
      if (!m || *m < 1 || *m > 12 || !Consume('.')) return std::nullopt;
      auto w = ParseNumber();
      if (!w || *w < 1 || *w > 5 || !Consume('.')) return std::nullopt;
      auto d = ParseNumber();
      if (!d || *d > 6) return std::nullopt;
      date.month = *m;
      date.week = *w;
      date.weekday = *d;
    } else {
      date.kind = RuleDate::Kind::kZeroBasedDay;
      auto n = ParseNumber();
      if (!n || *n > 365) return std::nullopt;
      date.day = *n;
    }
    if (Consume('/')) {
      auto time = ParseTime(167);
      if (!time) return std::nullopt;
      date.time = *time;
    }
    return date;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Local seconds since the epoch at which `date` falls in `year`.
std::int64_t RuleLocalSeconds(const RuleDate& date, int year) {
  const std::int64_t jan1 = DaysFromCivil(year, 1, 1);
  std::int64_t day = 0;
  switch (date.kind) {
    case RuleDate::Kind::kJulianNoLeap:
      day = jan1 + date.day - 1 + (IsLeapYear(year) && date.day >= 60 ? 1 : 0);
      break;
    case RuleDate::Kind::kZeroBasedDay:
      day = jan1 + date.day;
      break;
    case RuleDate::Kind::kMonthWeekDay: {
      const unsigned month = static_cast<unsigned>(date.month);
      const std::int64_t first = DaysFromCivil(year, month, 1);
      const unsigned first_weekday = WeekdayOf(first);
      std::int64_t dom = 1 + (static_cast<unsigned>(date.weekday) + 7 - first_weekday) % 7 + (date.week - 1) * 7;
      while (dom > DaysInMonth(year, month)) dom -= 7;
      day = first + dom - 1;
      break;
    }
  }
  return day * kSecondsPerDay + date.time;
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  bool Has(std::size_t n) const { return bytes_.size() - pos_ >= n; }
  std::string_view Rest() const { return bytes_.substr(pos_); }

  bool Skip(std::size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  std::uint8_t U8() { return static_cast<std::uint8_t>(bytes_[pos_++]); }
  std::uint32_t U32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | U8();
    return v;
  }
  std::uint64_t U64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | U8();
    return v;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

struct TzifHeader {
  char version;
  std::uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;

  std::uint64_t DataSize(std::size_t time_size) const {
    return std::uint64_t{timecnt} * time_size + timecnt + std::uint64_t{typecnt} * 6 + charcnt +
           std::uint64_t{leapcnt} * (time_size + 4) + isstdcnt + isutcnt;
  }
};

std::optional<TzifHeader> ReadTzifHeader(ByteReader& in) {
  if (!in.Has(44) || in.Rest().substr(0, 4) != "TZif") return std::nullopt;
  in.Skip(4);
  TzifHeader h{};
  h.version = static_cast<char>(in.U8());
  in.Skip(15);
  h.isutcnt = in.U32();
  h.isstdcnt = in.U32();
  h.leapcnt = in.U32();
  h.timecnt = in.U32();
  h.typecnt = in.U32();
  h.charcnt = in.U32();
  return h;
}

Result<ZoneData> ParseTzif(std::string_view name, std::string_view bytes) {
  auto bad = [&](const std::string& why) {
    return Fail(ErrorKind::kInvalidInput, "time zone '" + std::string(name) + "': " + why);
  };
  ByteReader in(bytes);
  auto header = ReadTzifHeader(in);
  if (!header) return bad("not a TZif file");
  std::size_t time_size = 4;
  if (header->version != '\0') {
    if (header->version < '2') return bad("unsupported TZif version");
    if (!in.Skip(header->DataSize(4))) return bad("truncated TZif data");
    header = ReadTzifHeader(in);
    if (!header) return bad("missing TZif version 2 header");
    time_size = 8;
  }
  const TzifHeader& h = *header;
  if (h.typecnt == 0 || h.typecnt > 256) return bad("bad local time type count");
  if (h.leapcnt != 0) return bad("leap-second TZif files are not supported");
  if (!in.Has(h.DataSize(time_size))) return bad("truncated TZif data");

  ZoneData zone;
  zone.name = std::string(name);
  zone.times.reserve(h.timecnt);
  for (std::uint32_t i = 0; i < h.timecnt; ++i) {
    const std::int64_t t = time_size == 8 ? static_cast<std::int64_t>(in.U64())
                                          : static_cast<std::int32_t>(in.U32());
    if (!zone.times.empty() && t <= zone.times.back()) return bad("transition times are not ascending");
    zone.times.push_back(t);
  }
  std::vector<std::uint8_t> type_of(h.timecnt);
  for (auto& type : type_of) {
    type = in.U8();
    if (type >= h.typecnt) return bad("transition refers to a missing local time type");
  }
  std::vector<std::int32_t> type_offsets(h.typecnt);
  for (auto& offset : type_offsets) {
    offset = static_cast<std::int32_t>(in.U32());
    in.Skip(2);
    if (offset < -89999 || offset > 93599) return bad("UTC offset out of range");
  }
  in.Skip(h.charcnt + h.isstdcnt + h.isutcnt);
  zone.initial_offset = type_offsets[0];
  zone.offsets.reserve(h.timecnt);
  for (std::uint8_t type : type_of) zone.offsets.push_back(type_offsets[type]);

  if (time_size == 8) {
    const std::string_view rest = in.Rest();
    const std::size_t close = rest.size() > 1 ? rest.find('\n', 1) : std::string_view::npos;
    if (rest.empty() || rest[0] != '\n' || close == std::string_view::npos) return bad("missing TZif footer");
    const std::string_view footer = rest.substr(1, close - 1);
    if (!footer.empty()) {
      zone.rule = PosixTzParser(footer).Parse();
      if (!zone.rule) return bad("unsupported TZ rule '" + std::string(footer) + "'");
    }
  }
  return zone;
}

struct RuleTransition {
  std::int64_t at;
  std::int32_t offset;
  bool starts_dst;
};

// The footer rule's transitions in years y-1..y+1 that come after `after`.
std::vector<RuleTransition> RuleTransitionsAround(const PosixRule& rule, int y, std::int64_t after) {
  std::vector<RuleTransition> out;
  for (int year = y - 1; year <= y + 1; ++year) {
    const RuleTransition start{RuleLocalSeconds(rule.start, year) - rule.std_offset, rule.dst_offset, true};
    const RuleTransition end{RuleLocalSeconds(rule.end, year) - rule.dst_offset, rule.std_offset, false};
    for (const RuleTransition& t : {start, end}) {
      if (t.at > after) out.push_back(t);
    }
  }
  std::sort(out.begin(), out.end(), [](const RuleTransition& a, const RuleTransition& b) {
    return a.at != b.at ? a.at < b.at : (!a.starts_dst && b.starts_dst);
  });
  return out;
}

TimeZone::Span RuleSpanAt(const ZoneData& zone, std::int64_t t, TimeZone::Span before_rule) {
  const PosixRule& rule = *zone.rule;
  if (!rule.has_dst) {
    return {before_rule.begin, kMaxInstant, before_rule.offset, before_rule.previous_offset};
  }
  const std::vector<RuleTransition> transitions = RuleTransitionsAround(rule, CivilYearOf(t), before_rule.begin);
  TimeZone::Span span = before_rule;
  span.end = kMaxInstant;
  for (const RuleTransition& transition : transitions) {
    if (transition.at > t) {
      span.end = transition.at;
      break;
    }
    span.previous_offset = span.offset;
    span.offset = transition.offset;
    span.begin = transition.at;
  }
  return span;
}

// ---------------------------------------------------------------------------
// Fire-time search.

// The first local minute start in [lo, hi) (local seconds since the epoch)
// whose wall-clock fields match `expr`.
std::optional<std::int64_t> FirstLocalMatch(const CronExpr& expr, std::int64_t lo, std::int64_t hi) {
  const std::int64_t start = -FloorDiv(-lo, 60) * 60;
  if (start >= hi) return std::nullopt;
  const CivilMinute s = ToCivilMinute(start);
  const int last_year = CivilYearOf(hi - 1);
  for (int y = s.year; y <= last_year; ++y) {
    for (unsigned mo = (y == s.year ? s.month : 1); mo <= 12; ++mo) {
      if (!expr.months()[mo]) continue;
      const bool first_month = y == s.year && mo == s.month;
      const unsigned days_in_month = DaysInMonth(y, mo);
      for (unsigned d = first_month ? s.day : 1; d <= days_in_month; ++d) {
        if (!expr.MatchesDate(y, mo, d)) continue;
        const bool first_day = first_month && d == s.day;
        for (unsigned h = first_day ? s.hour : 0; h < 24; ++h) {
          if (!expr.hours()[h]) continue;
          const bool first_hour = first_day && h == s.hour;
          for (unsigned mi = first_hour ? s.minute : 0; mi < 60; ++mi) {
            if (!expr.minutes()[mi]) continue;
            const std::int64_t found = DaysFromCivil(y, mo, d) * kSecondsPerDay + h * 3600 + mi * 60;
            if (found >= hi) return std::nullopt;
            return found;
          }
        }
      }
    }
  }
  return std::nullopt;
}

std::int64_t MaxTimePointSeconds() {
  return std::chrono::floor<std::chrono::seconds>(TimePoint::max()).time_since_epoch().count();
}

std::mutex& CacheMutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<std::string, TimeZone, std::less<>>& Cache() {
  static auto* cache = new std::map<std::string, TimeZone, std::less<>>();
  return *cache;
}

bool IsValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/') return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '+' || c == '/' || c == '.';
    if (!ok) return false;
  }
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    const std::string_view part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// CronExpr.

bool CronExpr::MatchesDate(int year, unsigned month, unsigned day) const {
  if (month < 1 || month > 12 || !months_[month] || day < 1 || day > DaysInMonth(year, month)) return false;
  const bool dom = days_of_month_[day];
  const bool dow = days_of_week_[WeekdayOf(DaysFromCivil(year, month, day))];
  return day_fields_or() ? (dom || dow) : (dom && dow);
}

bool CronExpr::NeverFires() const {
  if (day_fields_or()) return false;
  static constexpr std::array<unsigned, 13> kMaxDays = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (unsigned month = 1; month <= 12; ++month) {
    if (!months_[month]) continue;
    for (unsigned day = 1; day <= kMaxDays[month]; ++day) {
      if (days_of_month_[day]) return false;
    }
  }
  return true;
}

Result<CronExpr> ParseCron(std::string_view expr) {
  std::vector<std::string_view> fields = SplitBlanks(expr);
  if (fields.empty()) return Fail(ErrorKind::kInvalidInput, "cron expression is empty");
  if (fields.size() == 1 && fields[0].front() == '@') {
    for (const Macro& macro : kMacros) {
      if (EqualsIgnoreCase(fields[0], macro.name)) {
        auto parsed = ParseCron(macro.expansion);
        if (parsed) parsed->source_ = std::string(expr);
        return parsed;
      }
    }
    return Fail(ErrorKind::kInvalidInput,
                "unknown cron macro '" + std::string(fields[0]) +
                    "' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly) in \"" +
                    std::string(expr) + "\"");
  }
  if (fields.size() != kFields.size()) {
    return Fail(ErrorKind::kInvalidInput,
                "cron expression has " + std::to_string(fields.size()) +
                    " fields, expected 5 (minute hour day-of-month month day-of-week) in \"" + std::string(expr) +
                    "\"");
  }
  CronExpr cron;
  cron.source_ = std::string(expr);
  Status status = FieldParser(kFields[0], expr).Parse(fields[0], cron.minutes_);
  if (status) status = FieldParser(kFields[1], expr).Parse(fields[1], cron.hours_);
  if (status) status = FieldParser(kFields[2], expr).Parse(fields[2], cron.days_of_month_);
  if (status) status = FieldParser(kFields[3], expr).Parse(fields[3], cron.months_);
  if (status) status = FieldParser(kFields[4], expr).Parse(fields[4], cron.days_of_week_);
  if (!status) return Fail(status.error());
  cron.dom_star_ = fields[2].front() == '*';
  cron.dow_star_ = fields[4].front() == '*';
  return cron;
}

// ---------------------------------------------------------------------------
// TimeZone.

TimeZone TimeZone::Utc() {
  static const TimeZone* utc = new TimeZone(std::make_shared<const ZoneData>(ZoneData{"UTC", {}, {}, 0, {}}));
  return *utc;
}

Result<TimeZone> TimeZone::FromTzif(std::string_view name, std::string_view tzif) {
  auto zone = ParseTzif(name, tzif);
  if (!zone) return Fail(zone.error());
  return TimeZone(std::make_shared<const ZoneData>(std::move(*zone)));
}

const std::string& TimeZone::name() const { return zone_->name; }

std::chrono::seconds TimeZone::UtcOffset(TimePoint t) const {
  return std::chrono::seconds(SpanAt(std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count()).offset);
}

TimeZone::Span TimeZone::SpanAt(std::int64_t t) const {
  const ZoneData& zone = *zone_;
  const auto next = std::upper_bound(zone.times.begin(), zone.times.end(), t);
  const std::size_t index = static_cast<std::size_t>(next - zone.times.begin());
  if (zone.times.empty()) {
    const Span forever{kMinInstant, kMaxInstant, zone.initial_offset, zone.initial_offset};
    return zone.rule ? RuleSpanAt(zone, t, forever) : forever;
  }
  if (index == 0) return {kMinInstant, zone.times.front(), zone.initial_offset, zone.initial_offset};
  const std::int32_t previous = index >= 2 ? zone.offsets[index - 2] : zone.initial_offset;
  Span span{zone.times[index - 1], kMaxInstant, zone.offsets[index - 1], previous};
  if (index < zone.times.size()) {
    span.end = zone.times[index];
    return span;
  }
  return zone.rule ? RuleSpanAt(zone, t, span) : span;
}

Result<TimeZone> LoadTimeZone(std::string_view name, const std::string& zoneinfo_dir) {
  if (!IsValidZoneName(name)) {
    return Fail(ErrorKind::kInvalidInput, "invalid time zone name '" + std::string(name) +
                                              "' (expected an IANA name such as Europe/Paris or UTC)");
  }
  const std::filesystem::path path = std::filesystem::path(zoneinfo_dir) / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (name == "UTC" || name == "Etc/UTC") {
      return TimeZone(std::make_shared<const ZoneData>(ZoneData{std::string(name), {}, {}, 0, {}}));
    }
    return Fail(ErrorKind::kNotFound,
                "unknown time zone '" + std::string(name) + "' (not in the tz database at " + zoneinfo_dir + ")");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Fail(ErrorKind::kUnavailable, "time zone '" + std::string(name) + "': cannot read " + path.string());
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return TimeZone::FromTzif(name, bytes.str());
}

Result<TimeZone> LoadTimeZone(std::string_view name) {
  std::lock_guard<std::mutex> lock(CacheMutex());
  auto& cache = Cache();
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const char* tzdir = std::getenv("TZDIR");
  auto zone = LoadTimeZone(name, tzdir != nullptr && *tzdir != '\0' ? tzdir : "/usr/share/zoneinfo");
  if (zone) cache.emplace(std::string(name), *zone);
  return zone;
}

// ---------------------------------------------------------------------------
// Fire times.

std::optional<TimePoint> NextFire(const CronExpr& expr, const TimeZone& tz, TimePoint after) {
  if (expr.NeverFires()) return std::nullopt;
  const std::int64_t max_seconds = MaxTimePointSeconds();
  const std::int64_t a = std::chrono::floor<std::chrono::seconds>(after).time_since_epoch().count();
  if (a >= max_seconds) return std::nullopt;
  const std::int64_t limit = a > max_seconds - kSearchHorizon ? max_seconds : a + kSearchHorizon;
  auto to_time_point = [](std::int64_t s) { return TimePoint(std::chrono::seconds(s)); };

  std::int64_t cursor = a + 1;
  while (cursor <= limit) {
    const TimeZone::Span span = tz.SpanAt(cursor);
    const bool has_start = span.begin != kMinInstant;
    if (has_start && span.previous_offset < span.offset && span.begin >= cursor &&
        FirstLocalMatch(expr, span.begin + span.previous_offset, span.begin + span.offset)) {
      return to_time_point(span.begin);
    }
    std::int64_t lo = cursor + span.offset;
    if (has_start) lo = std::max(lo, span.begin + std::max(span.offset, span.previous_offset));
    const std::int64_t end = std::min(span.end, limit + 1);
    if (auto local = FirstLocalMatch(expr, lo, end + span.offset)) return to_time_point(*local - span.offset);
    if (end > limit) break;
    cursor = end;
  }
  return std::nullopt;
}

std::vector<TimePoint> FiresBetween(const CronExpr& expr, const TimeZone& tz, TimePoint from, TimePoint to,
                                    std::size_t limit) {
  std::vector<TimePoint> fires;
  TimePoint cursor = from;
  while (fires.size() < limit) {
    const std::optional<TimePoint> next = NextFire(expr, tz, cursor);
    if (!next || *next > to) break;
    fires.push_back(*next);
    cursor = *next;
  }
  return fires;
}

}  // namespace dw::sched
