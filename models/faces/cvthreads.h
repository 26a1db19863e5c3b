#ifdef __cplusplus
extern "C" {
#endif

void sg_cv_set_num_threads(int n);
int sg_cv_num_threads(void);

#ifdef __cplusplus
}
#endif
