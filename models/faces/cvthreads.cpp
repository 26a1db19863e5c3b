// OpenCV's thread setting, which gocv does not expose.
#include <opencv2/core.hpp>
#include "cvthreads.h"

void sg_cv_set_num_threads(int n) { cv::setNumThreads(n); }

int sg_cv_num_threads(void) { return cv::getNumThreads(); }
