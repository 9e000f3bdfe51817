package emrtd

import "log/slog"

// The LogValue methods keep personal data out of structured logs: a
// Document, MRZ, DG13 or BACKey handed to log/slog shows only what is not
// personal (format, issuer, which data groups, passive authentication).

// LogValue implements slog.LogValuer.
func (m MRZ) LogValue() slog.Value {
	return slog.GroupValue(slog.String("format", m.Format), slog.String("doc_code", m.DocumentCode), slog.String("issuer", m.Issuer))
}

// LogValue implements slog.LogValuer.
func (d *DG13) LogValue() slog.Value {
	if d == nil {
		return slog.StringValue("none")
	}
	return slog.IntValue(len(d.Entries()))
}

// LogValue implements slog.LogValuer.
func (k BACKey) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// LogValue implements slog.LogValuer.
func (d *Document) LogValue() slog.Value {
	if d == nil {
		return slog.StringValue("none")
	}
	return slog.GroupValue(
		slog.Any("dg1", d.DG1),
		slog.Any("data_groups", d.DataGroups),
		slog.Bool("dg13", d.DG13 != nil),
		slog.Bool("photo", d.Photo != nil),
		slog.Bool("pa_hashes_ok", d.PA.HashesOK),
		slog.Bool("pa_signature_checked", d.PA.SignatureChecked),
	)
}
