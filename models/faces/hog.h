// A C interface to dlib's HOG face detector and five-point shape predictor
// on OpenCV Mats, without dlib's descriptor network: see hog.go.
#ifndef SCENICGATE_HOG_H
#define SCENICGATE_HOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void *SGHog;

// sghog_new loads the shape predictor from path. On failure it returns NULL
// and sets *err to a message the caller frees.
SGHog sghog_new(const char *path, char **err);
void sghog_free(SGHog h);

// sghog_detect finds the faces in mat (a cv::Mat, 8-bit BGR) and writes the
// first max of them to rects as left, top, right, bottom (dlib's rectangles:
// right and bottom inside the face). It returns how many it found, or -1
// with *err set.
int sghog_detect(SGHog h, void *mat, long *rects, int max, char **err);

// sghog_landmarks writes the five landmarks of the face in rect (as
// sghog_detect gives it) to points as x, y pairs. It returns 0, or -1 with
// *err set.
int sghog_landmarks(SGHog h, void *mat, const long *rect, long *points, char **err);

#ifdef __cplusplus
}
#endif

#endif
