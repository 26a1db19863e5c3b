// Package camera delivers the frames a gate lane looks at, from a real camera
// or from recorded pictures.
//
// Open takes the value of the gate's --camera flag:
//
//	0, 1, ...            a camera by index (V4L2 on Linux)
//	/dev/video0          a camera by device path, e.g. /dev/v4l/by-id/...
//	rtsp://user:pw@host/ a network stream: rtsp, rtsps, rtmp, http (MJPEG),
//	                     https, udp, tcp or srt, read through FFmpeg
//	demo.avi             a video file
//	photos/              a folder of JPEG and PNG images, read in name order
//
// # Live and recorded sources
//
// Cameras and streams are live: a goroutine owned by the source reads frames
// as fast as the camera sends them and keeps only the newest one, so Read
// always returns a recent picture however long the caller spent on the last
// one (and an RTSP client never falls behind its server). Frame.Seq shows the
// frames that were dropped that way. Options.FPS and Options.Loop do not
// apply to them.
//
// Video files and folders are recorded: Read decodes the next frame in the
// caller's goroutine, paced to at most Options.FPS frames a second. At the
// end they either start over (Options.Loop) or return ErrEndOfStream. A
// folder is listed again at every start, so a demo can drop photos into it
// while it runs.
//
// # Watchdog
//
// A live source never gives up and never panics. OpenCV's VideoCapture.Read
// can block for a long time on a dead network stream (FFmpeg gives up after
// 30 seconds), and Read and Close on one capture must not run at once. So a
// capture is only ever used by its own goroutine, and a watchdog abandons it
// when opening takes longer than Options.OpenTimeout or a read longer than
// Options.ReadTimeout: the goroutine is left to finish its call into OpenCV
// and then closes the capture itself, and a new capture is opened after an
// exponential backoff. The same happens when a read or an open fails, so a
// camera unplugged at boot or a stream restarted by its server comes back by
// itself. Faults and recoveries are logged and reported by Stats.
//
// # Ownership
//
// Every Frame returned by Read holds a gocv.Mat that belongs to the caller,
// who must close it exactly once (Frame.Close). Frames a source drops or has
// not handed out yet are closed by the source, at the latest by Close.
package camera
