package qr_test

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/hardware/qr"
)

// A gate hands each camera frame to the detector; a frame without a code
// gives ok == false.
func Example() {
	// A printed ticket, as a camera would see it.
	png, err := qrcode.Encode("SG1.EXAMPLE TOKEN", qrcode.Medium, 256)
	if err != nil {
		fmt.Println(err)
		return
	}
	frame, err := gocv.IMDecode(png, gocv.IMReadColor)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer frame.Close()

	d := qr.NewDetector()
	defer d.Close()
	text, ok := d.Decode(frame)
	fmt.Println(text, ok)

	blank := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	_, ok = d.Decode(blank)
	fmt.Println(ok)
	// Output:
	// SG1.EXAMPLE TOKEN true
	// false
}
