#include "wechat.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/wechat_qrcode.hpp>

namespace {

char *copyMessage(const char *msg) {
    size_t n = std::strlen(msg);
    char *out = static_cast<char *>(std::malloc(n + 1));
    if (out != nullptr) {
        std::memcpy(out, msg, n + 1);
    }
    return out;
}

}  // namespace

extern "C" {

SGQRReader sgqr_new(char **err) {
    *err = nullptr;
    try {
        return new cv::wechat_qrcode::WeChatQRCode();
    } catch (const std::exception &e) {
        *err = copyMessage(e.what());
    } catch (...) {
        *err = copyMessage("unknown C++ exception");
    }
    return nullptr;
}

void sgqr_free(SGQRReader r) {
    delete static_cast<cv::wechat_qrcode::WeChatQRCode *>(r);
}

SGQRResult sgqr_decode(SGQRReader r, void *mat) {
    SGQRResult res = {nullptr, 0, nullptr};
    try {
        auto *reader = static_cast<cv::wechat_qrcode::WeChatQRCode *>(r);
        const cv::Mat &img = *static_cast<cv::Mat *>(mat);
        // Without the CNN detector OpenCV 4.6 reports the whole frame as
        // every code's position, so the points are not asked for.
        std::vector<std::string> texts = reader->detectAndDecode(img);
        if (texts.empty()) {
            return res;
        }
        res.codes = static_cast<SGQRCode *>(std::calloc(texts.size(), sizeof(SGQRCode)));
        if (res.codes == nullptr) {
            res.err = copyMessage("out of memory");
            return res;
        }
        for (size_t i = 0; i < texts.size(); i++) {
            SGQRCode &c = res.codes[res.n];
            c.text = static_cast<char *>(std::malloc(texts[i].size() + 1));
            if (c.text == nullptr) {
                res.err = copyMessage("out of memory");
                return res;
            }
            std::memcpy(c.text, texts[i].data(), texts[i].size());
            c.text[texts[i].size()] = '\0';
            c.len = static_cast<int>(texts[i].size());
            res.n++;
        }
    } catch (const std::exception &e) {
        res.err = copyMessage(e.what());
    } catch (...) {
        res.err = copyMessage("unknown C++ exception");
    }
    return res;
}

void sgqr_result_free(SGQRResult res) {
    for (int i = 0; i < res.n; i++) {
        std::free(res.codes[i].text);
    }
    std::free(res.codes);
    std::free(res.err);
}

}  // extern "C"
