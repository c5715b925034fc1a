#include "stats/text_distance.h"

#include <algorithm>
#include <cstdint>

namespace dw::stats {

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int length = 0;
    char32_t code = 0;
    if (lead < 0x80) {
      length = 1;
      code = lead;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code = lead & 0x07;
    }
    bool valid = length > 0 && i + static_cast<std::size_t>(length) <= text.size();
    for (int k = 1; valid && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xc0) != 0x80) {
        valid = false;
      } else {
        code = (code << 6) | (next & 0x3f);
      }
    }
    if (valid) {
      const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
      const bool surrogate = code >= 0xd800 && code <= 0xdfff;
      valid = !overlong && !surrogate && code <= 0x10ffff;
    }
    if (valid) {
      out.push_back(code);
      i += static_cast<std::size_t>(length);
    } else {
      out.push_back(0xdc00 + lead);
      ++i;
    }
  }
  return out;
}

EditDistanceFrom::EditDistanceFrom(std::u32string_view pattern)
    : length_(pattern.size()),
      words_(std::max<std::size_t>(1, (pattern.size() + 63) / 64)),
      ascii_(words_ * 128, 0),
      zero_(words_, 0) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char32_t ch = pattern[i];
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (ch < 128) {
      ascii_[ch * words_ + i / 64] |= bit;
    } else {
      auto [it, inserted] = other_.try_emplace(ch, words_, 0);
      it->second[i / 64] |= bit;
    }
  }
}

const std::uint64_t* EditDistanceFrom::Masks(char32_t ch) const {
  if (ch < 128) return &ascii_[ch * words_];
  const auto it = other_.find(ch);
  return it == other_.end() ? zero_.data() : it->second.data();
}

std::size_t EditDistanceFrom::To(std::u32string_view text) const {
  if (length_ == 0) return text.size();
  std::vector<std::uint64_t> vp(words_, ~std::uint64_t{0});
  std::vector<std::uint64_t> vn(words_, 0);
  const std::uint64_t last = std::uint64_t{1} << ((length_ - 1) % 64);
  std::size_t distance = length_;
  for (const char32_t ch : text) {
    const std::uint64_t* eq = Masks(ch);
    std::uint64_t hp_carry = 1;
    std::uint64_t hn_carry = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      const std::uint64_t x = eq[w] | hn_carry;
      const std::uint64_t d0 = (((x & vp[w]) + vp[w]) ^ vp[w]) | x | vn[w];
      std::uint64_t hp = vn[w] | ~(d0 | vp[w]);
      std::uint64_t hn = d0 & vp[w];
      if (w + 1 == words_) {
        if (hp & last) ++distance;
        if (hn & last) --distance;
      }
      const std::uint64_t hp_in = hp_carry;
      const std::uint64_t hn_in = hn_carry;
      hp_carry = hp >> 63;
      hn_carry = hn >> 63;
      hp = (hp << 1) | hp_in;
      hn = (hn << 1) | hn_in;
      vp[w] = hn | ~(d0 | hp);
      vn[w] = hp & d0;
    }
  }
  return distance;
}

double EditDistanceFrom::NormalizedTo(std::u32string_view text) const {
  const std::size_t longest = std::max(length_, text.size());
  if (longest == 0) return 0;
  return static_cast<double>(To(text)) / static_cast<double>(longest);
}

std::size_t EditDistance(std::u32string_view a, std::u32string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return EditDistanceFrom(a).To(b);
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  return EditDistance(DecodeUtf8(a), DecodeUtf8(b));
}

double NormalizedEditDistance(std::string_view a, std::string_view b) {
  std::u32string da = DecodeUtf8(a);
  std::u32string db = DecodeUtf8(b);
  if (da.size() > db.size()) std::swap(da, db);
  return EditDistanceFrom(da).NormalizedTo(db);
}

}  // namespace dw::stats
