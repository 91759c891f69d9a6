#include <catch2/catch.hpp>

#include "nlpc/core/error.h"
#include "nlpc/eval/gate.h"

TEST_CASE("gates parse and compare", "[eval][gate]") {
  auto g = nlpc::parse_gate(" accuracy >= 0.80 ");
  CHECK(g.metric == "accuracy");
  CHECK(g.op == ">=");
  CHECK(g.value == Approx(0.8));
  CHECK(nlpc::parse_gate("log_loss<0.5").op == "<");
  CHECK_THROWS_AS(nlpc::parse_gate("accuracy=>0.8"), nlpc::UsageError);
  CHECK_THROWS_AS(nlpc::parse_gate("accuracy>=high"), nlpc::UsageError);
  CHECK_THROWS_AS(nlpc::parse_gate(">=0.8"), nlpc::UsageError);

  nlpc::MetricMap m{{"accuracy", 0.83}, {"f1_macro", 0.7}, {"log_loss", 0.61}};
  auto r = nlpc::check_gates(m, {nlpc::parse_gate("accuracy>=0.80"), nlpc::parse_gate("f1_macro>=0.75"),
                                 nlpc::parse_gate("log_loss<=0.7")});
  CHECK_FALSE(r.passed);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0] == "FAIL f1_macro 0.7000 >= 0.7500");
  CHECK_THROWS_WITH(nlpc::check_gates(m, {nlpc::parse_gate("auc>=0.9")}),
                    Catch::Contains("no metric 'auc' (metrics: accuracy, f1_macro, log_loss)"));
}

TEST_CASE("baseline comparison allows a bounded drop, a bounded rise for losses", "[eval][gate]") {
  nlpc::MetricMap base{{"accuracy", 0.85}, {"log_loss", 0.50}, {"only_in_base", 1.0}};
  auto ok = nlpc::check_baseline({{"accuracy", 0.845}, {"log_loss", 0.505}}, base, 0.01, "run1");
  CHECK(ok.passed);
  auto bad = nlpc::check_baseline({{"accuracy", 0.83}, {"log_loss", 0.52}}, base, 0.01, "run1");
  CHECK_FALSE(bad.passed);
  CHECK(bad.failures.size() == 2);
  CHECK_THROWS_AS(nlpc::check_baseline({{"x", 1}}, base, 0.01, "run1"), nlpc::UsageError);
}
