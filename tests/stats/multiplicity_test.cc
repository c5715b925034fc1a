#include "stats/multiplicity.h"

#include <gtest/gtest.h>

namespace dw::stats {
namespace {

TEST(BenjaminiHochberg, ReproducesThe1995PaperExample) {
  // Benjamini & Hochberg (1995) §4: 15 p-values, four rejected at q = 0.05.
  // Adjusted values by hand: q₍ₖ₎ = min_{j≥k} 15·p₍ⱼ₎/j.
  const std::vector<double> p = {0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
                                 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000};
  const std::vector<double> expected = {0.0015,   0.003,    0.0095,   0.035625, 0.0603,
                                        15 * 0.0298 / 7, 15 * 0.0298 / 7, 0.0645,   0.0765,   0.486,
                                        15 * 0.4262 / 11, 15 * 0.5719 / 12, 15 * 0.6528 / 13, 15 * 0.7590 / 14, 1.0};
  const std::vector<double> q = BenjaminiHochberg(p);
  ASSERT_EQ(q.size(), expected.size());
  int rejected = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    EXPECT_NEAR(q[i], expected[i], 1e-12) << i;
    if (q[i] <= 0.05) ++rejected;
  }
  EXPECT_EQ(rejected, 4);
}

TEST(BenjaminiHochberg, ReturnsValuesInInputOrder) {
  const std::vector<double> q = BenjaminiHochberg({0.04, 0.01, 0.03, 0.005});
  // Sorted 0.005, 0.01, 0.03, 0.04 → 4p/k = 0.02, 0.02, 0.04, 0.04.
  EXPECT_NEAR(q[0], 0.04, 1e-15);
  EXPECT_NEAR(q[1], 0.02, 1e-15);
  EXPECT_NEAR(q[2], 0.04, 1e-15);
  EXPECT_NEAR(q[3], 0.02, 1e-15);
}

TEST(BenjaminiHochberg, KeepsASingleValueAndTheLargestP) {
  EXPECT_EQ(BenjaminiHochberg({0.7}), std::vector<double>{0.7});
  const std::vector<double> q = BenjaminiHochberg({0.9, 0.8});
  EXPECT_NEAR(q[0], 0.9, 1e-15);
  EXPECT_NEAR(q[1], 0.9, 1e-15);
}

TEST(BenjaminiHochberg, EmptyInputGivesEmptyOutput) { EXPECT_TRUE(BenjaminiHochberg({}).empty()); }

}  // namespace
}  // namespace dw::stats
