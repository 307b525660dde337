#include "model/average.hpp"

#include <cmath>
#include <cstdio>

#include "util/error.hpp"

namespace ogpt::model {

ParamBlock average_params(const std::vector<const ParamBlock*>& models, const std::vector<double>& weights,
                          const std::vector<std::string>& names) {
  if (models.empty()) throw UserError("average: no models given", kUsage);
  if (weights.size() != models.size() || names.size() != models.size())
    throw UserError("average: " + std::to_string(models.size()) + " models but " + std::to_string(weights.size()) +
                        " weights",
                    kUsage);
  double total = 0;
  for (double w : weights) {
    if (!(std::isfinite(w) && w >= 0)) throw UserError("average: every weight must be a finite number >= 0", kUsage);
    total += w;
  }
  if (!(std::fabs(total - 1.0) <= 1e-6)) {
    char sum[32];
    std::snprintf(sum, sizeof sum, "%g", total);
    throw UserError(std::string("average: the weights sum to ") + sum + ", not 1", kUsage);
  }
  const Config& cfg = models[0]->cfg;
  for (size_t i = 1; i < models.size(); ++i)
    if (!(models[i]->cfg == cfg))
      throw UserError("average: " + names[i] + " is " + models[i]->cfg.describe() + " but " + names[0] + " is " +
                          cfg.describe() + ": only models of one shape average",
                      kUsage);
  ParamBlock out(cfg);
  for (size_t k = 0; k < out.data.size(); ++k) {
    double s = 0;
    for (size_t i = 0; i < models.size(); ++i) s += weights[i] * models[i]->data[k];
    out.data[k] = float(s);
  }
  return out;
}

}  // namespace ogpt::model
