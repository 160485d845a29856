#include "orchestrator/exec/gpu_slots.h"

#include <gtest/gtest.h>

namespace orchard::exec {
namespace {

using Ids = std::vector<std::string>;

TEST(GpuSlots, NeverSharesAGpuByDefault) {
  GpuSlots slots({"0", "1", "2"}, 1);
  auto a = slots.TryAcquire(1), b = slots.TryAcquire(2);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, Ids{"0"});
  EXPECT_EQ(*b, (Ids{"1", "2"}));
  EXPECT_FALSE(slots.TryAcquire(1)) << "every GPU is taken";
  slots.Release(*a);
  auto c = slots.TryAcquire(1);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, Ids{"0"});
  EXPECT_EQ(slots.Capacity(1), 3);
  EXPECT_EQ(slots.Capacity(2), 1);
}

TEST(GpuSlots, TrialsPerGpuAllowsSharingLeastLoadedFirst) {
  GpuSlots slots({"4", "7"}, 2);
  EXPECT_EQ(*slots.TryAcquire(1), Ids{"4"});
  EXPECT_EQ(*slots.TryAcquire(1), Ids{"7"});
  EXPECT_EQ(*slots.TryAcquire(1), Ids{"4"});
  EXPECT_EQ(*slots.TryAcquire(1), Ids{"7"});
  EXPECT_FALSE(slots.TryAcquire(1));
  EXPECT_EQ(slots.Load().at("4"), 2);
}

TEST(GpuSlots, CpuOnlyTrialsNeedNoGpu) {
  GpuSlots slots({}, 1);
  auto a = slots.TryAcquire(0);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->empty());
  EXPECT_FALSE(slots.TryAcquire(1));
}

TEST(GpuSlots, ParsesGpuLists) {
  EXPECT_EQ(*ParseGpuList("0,1, 3"), (Ids{"0", "1", "3"}));
  EXPECT_FALSE(ParseGpuList("0,,1"));
  EXPECT_FALSE(ParseGpuList("1,1"));
}

}  // namespace
}  // namespace orchard::exec
