#pragma once
// Weight averaging of models of one shape: stochastic weight averaging (Izmailov et al. 2018)
// of the low-lr ends of a cyclic schedule, or a "model soup" of fine-tunes of one model
// (Wortsman et al. 2022). It only helps for models in one basin: continuations of each other,
// as the runs that train --init-from chains are; the average of two unrelated models is noise.
#include <string>
#include <vector>

#include "model/params.hpp"

namespace ogpt::model {

// sum_i weights[i] * models[i], parameter by parameter, in double. The weights must be finite,
// >= 0 and sum to 1; every model must have the first one's config. `names` label the models in
// errors (UserError, kUsage).
ParamBlock average_params(const std::vector<const ParamBlock*>& models, const std::vector<double>& weights,
                          const std::vector<std::string>& names);

}  // namespace ogpt::model
