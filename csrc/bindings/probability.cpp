// probability for every backend (see call.hpp).
#include "../ops/probability/probability.hpp"

#include "call.hpp"
#if ALPHACUT_BINDINGS_GPU
#include "../ops/probability/probability_cuda.hpp"
#endif

namespace py = pybind11;
using namespace alphacut;
using namespace alphacut::bindings;

namespace {

Result<py::array_t<float>> probability_entry(Call& call, Array planes, int channels, int mode, int channel) {
    ALPHACUT_CHECK(channels >= 1, "channels must be at least 1, got " << channels);
    auto p = call.input<float>(planes, "planes");
    ALPHACUT_CHECK(p.channels == 1 && p.height % channels == 0,
                   "planes: expected (channels * h, w) float32 with channels = "
                       << channels << ", got (" << p.height << ", " << p.width << ", " << p.channels << ")");
    auto o = call.output_image<float>(p.height / channels, p.width, 1, false);
    ALPHACUT_RUN(call, probability, p, channels, mode, channel, o);
    return call.finish();
}

}  // namespace

ALPHACUT_REGISTER_BINDINGS(bind_probability) {
    def<&probability_entry>(m, "probability",
                            "(h, w) float32 foreground probability from a segmenter's output planes, float32 "
                            "(channels * h, w): channel `channel` as it is (mode 0), after a sigmoid (1), a softmax "
                            "across the channels (2), or 1 - softmax[0] (3); clamped to [0, 1], NaN read as 0.",
                            py::arg("planes"), py::arg("channels"), py::arg("mode"), py::arg("channel"));
}
