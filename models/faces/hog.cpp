#include "hog.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include <opencv2/core.hpp>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>

namespace {

struct hog {
    dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
    dlib::shape_predictor predictor;
};

char *copyMessage(const char *msg) {
    size_t n = std::strlen(msg);
    char *out = static_cast<char *>(std::malloc(n + 1));
    if (out != nullptr) {
        std::memcpy(out, msg, n + 1);
    }
    return out;
}

// image wraps a BGR Mat for dlib without copying its pixels; sghog_detect
// also takes a grey one. The detector
// takes each pixel's strongest channel gradient and the shape predictor its
// mean intensity, so the channel order does not change either result.
dlib::cv_image<dlib::bgr_pixel> image(void *mat) {
    return dlib::cv_image<dlib::bgr_pixel>(*static_cast<cv::Mat *>(mat));
}

}  // namespace

extern "C" {

SGHog sghog_new(const char *path, char **err) {
    *err = nullptr;
    try {
        auto *h = new hog();
        dlib::deserialize(path) >> h->predictor;
        return h;
    } catch (const std::exception &e) {
        *err = copyMessage(e.what());
    } catch (...) {
        *err = copyMessage("unknown C++ exception");
    }
    return nullptr;
}

void sghog_free(SGHog h) { delete static_cast<hog *>(h); }

int sghog_detect(SGHog h, void *mat, long *rects, int max, char **err) {
    *err = nullptr;
    try {
        auto *d = static_cast<hog *>(h);
        const cv::Mat &m = *static_cast<cv::Mat *>(mat);
        std::vector<dlib::rectangle> found = m.channels() == 1
            ? d->detector(dlib::cv_image<unsigned char>(m))
            : d->detector(image(mat));
        for (size_t i = 0; i < found.size() && i < static_cast<size_t>(max); i++) {
            rects[4 * i] = found[i].left();
            rects[4 * i + 1] = found[i].top();
            rects[4 * i + 2] = found[i].right();
            rects[4 * i + 3] = found[i].bottom();
        }
        return static_cast<int>(found.size());
    } catch (const std::exception &e) {
        *err = copyMessage(e.what());
    } catch (...) {
        *err = copyMessage("unknown C++ exception");
    }
    return -1;
}

int sghog_landmarks(SGHog h, void *mat, const long *rect, long *points, char **err) {
    *err = nullptr;
    try {
        auto *d = static_cast<hog *>(h);
        dlib::full_object_detection shape =
            d->predictor(image(mat), dlib::rectangle(rect[0], rect[1], rect[2], rect[3]));
        if (shape.num_parts() != 5) {
            *err = copyMessage("the shape predictor gave other than 5 landmarks");
            return -1;
        }
        for (unsigned long i = 0; i < 5; i++) {
            points[2 * i] = shape.part(i).x();
            points[2 * i + 1] = shape.part(i).y();
        }
        return 0;
    } catch (const std::exception &e) {
        *err = copyMessage(e.what());
    } catch (...) {
        *err = copyMessage("unknown C++ exception");
    }
    return -1;
}

}  // extern "C"
