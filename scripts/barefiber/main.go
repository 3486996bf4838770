// Command barefiber is the baseline of scripts/bench-gateway.sh, not part
// of degreegate: a bare Fiber handler that decodes the public
// verification request the way the gateway does (strict JSON, one value)
// and answers a fixed JSON body of a given size, so that the benchmark
// can say what the gateway's own work costs on top of Fiber.
//
//	go run ./scripts/barefiber --addr 127.0.0.1:8081 --size 1200
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

type verifyRequest struct {
	CertificateNumber string `json:"certificate_number"`
	Name              string `json:"name"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	size := flag.Int("size", 1200, "bytes of the fixed JSON answer")
	flag.Parse()
	// A JSON object of exactly size bytes: {"result":"match","pad":"xxx…"}.
	const frame = `{"result":"match","pad":""}`
	body := []byte(`{"result":"match","pad":"` + strings.Repeat("x", max(*size-len(frame), 0)) + `"}`)

	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		BodyLimit:             1 << 20,
	})
	app.Post("/v1/verify", func(c *fiber.Ctx) error {
		var req verifyRequest
		dec := json.NewDecoder(bytes.NewReader(c.Body()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return c.Status(fiber.StatusBadRequest).SendString("bad json")
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return c.Status(fiber.StatusBadRequest).SendString("trailing data")
		}
		if req.CertificateNumber == "" || req.Name == "" {
			return c.Status(fiber.StatusUnprocessableEntity).SendString("missing")
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(body)
	})
	fmt.Printf("listening on http://%s (fixed answer %d bytes)\n", *addr, len(body))
	if err := app.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "barefiber:", err)
		os.Exit(1)
	}
}
