module github.com/scenicgate/scenicgate

go 1.26.0

require github.com/mattn/go-isatty v0.0.20

require (
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

tool google.golang.org/protobuf/cmd/protoc-gen-go
