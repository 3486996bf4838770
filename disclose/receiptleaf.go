package disclose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/degreegate/degreegate/registry"
)

// ErrReceiptNotFound: no receipt with this id was issued for this
// certificate number — one answer for an unknown id and for another
// certificate's, so neither can be probed.
var ErrReceiptNotFound = errors.New("disclose: no receipt with this id for this certificate")

// receiptActions are the entries whose detail names a receipt.
var receiptActions = []string{ActionPublicVerify, ActionCodeView}

// ReceiptLeaf finds the leaf of the log that the entry of a receipt
// became, from what the receipt's holder has on paper: the receipt's id
// and the certificate number it is about. Asking shows nothing about the
// record (the answer is a leaf index), so it is not itself audited.
func (s *Service) ReceiptLeaf(ctx context.Context, receiptID, certificateNumber string) (int64, error) {
	bad := map[string]string{}
	if n, err := b32.DecodeString(receiptID); err != nil || len(n) != 16 {
		bad["receipt"] = "must be a receipt's id (jti): 26 letters A–Z and digits 2–7"
	}
	cert := strings.ToUpper(strings.TrimSpace(certificateNumber))
	if why := CheckCertificateNumber(cert); why != "" {
		bad["certificate_number"] = why
	}
	if len(bad) > 0 {
		return 0, &InvalidError{Fields: bad}
	}
	if s.deps.AuditSearch == nil {
		return 0, ErrAuditSearchUnavailable
	}
	q := registry.AuditQuery{RecordRefs: []string{cert}, Actions: receiptActions, Limit: registry.MaxAuditLimit}
	needle := `"receipt":"` + receiptID + `"`
	for {
		page, err := s.deps.AuditSearch.SearchAudit(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrAuditSearchUnavailable, err)
		}
		for i := range page {
			if e := &page[i]; strings.Contains(e.Detail, needle) && detailReceipt(e.Detail) == receiptID {
				return e.Seq - 1, nil
			}
		}
		if len(page) < q.PageSize() {
			return 0, ErrReceiptNotFound
		}
		q.AfterSeq = page[len(page)-1].Seq
	}
}

// detailReceipt is the receipt an entry's detail names.
func detailReceipt(detail string) string {
	var d struct {
		Receipt string `json:"receipt"`
	}
	if json.Unmarshal([]byte(detail), &d) != nil {
		return ""
	}
	return d.Receipt
}
