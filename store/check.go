package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// bbolt maps the file into memory and follows page numbers without bounds
// checks, so a damaged page (a child pointer past the end, an element
// running off its page) makes it fault and kill the process instead of
// returning an error. walkTree follows the same structure with plain reads
// and bounds checks first, so a damaged file gets a clear "corrupt" error.
//
// Page layout (go.etcd.io/bbolt internal/common/page.go), host byte order:
// header id uint64, flags uint16, count uint16, overflow uint32; then count
// elements of 16 bytes: branch {pos, ksize uint32, pgid uint64}, leaf
// {flags, pos, ksize, vsize uint32}, pos relative to the element. A leaf
// element with flag 1 is a bucket: value {root pgid, sequence uint64},
// followed by an inline page when root is 0.
const (
	pageBranch   = 0x01
	pageLeaf     = 0x02
	pageFreelist = 0x10
	leafBucket   = 0x01
	elemSize     = 16
	maxTreeDepth = 64
)

type treeWalker struct {
	r        io.ReaderAt
	pageSize int64
	hwm      uint64
	seen     map[uint64]bool
}

func walkTree(r io.ReaderAt, m boltMeta) error {
	w := &treeWalker{r: r, pageSize: int64(m.pageSize), hwm: m.pgid, seen: map[uint64]bool{}}
	if m.freelist != ^uint64(0) {
		if err := w.freelist(m.freelist); err != nil {
			return err
		}
	}
	return w.tree(m.root, 0)
}

// page reads page id with its overflow pages.
func (w *treeWalker) page(id uint64) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page number %d outside the file's %d pages", id, w.hwm)
	}
	if w.seen[id] {
		return nil, fmt.Errorf("page %d is referenced twice", id)
	}
	w.seen[id] = true
	hdr := make([]byte, 16)
	if _, err := w.r.ReadAt(hdr, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	e := binary.NativeEndian
	if got := e.Uint64(hdr); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	overflow := uint64(e.Uint32(hdr[12:]))
	if overflow >= w.hwm-id {
		return nil, fmt.Errorf("page %d overflows past the end of the data", id)
	}
	buf := make([]byte, int64(1+overflow)*w.pageSize)
	if _, err := w.r.ReadAt(buf, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	return buf, nil
}

func (w *treeWalker) freelist(id uint64) error {
	buf, err := w.page(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	e := binary.NativeEndian
	if e.Uint16(buf[8:]) != pageFreelist {
		return fmt.Errorf("freelist page %d has type %#x", id, e.Uint16(buf[8:]))
	}
	start, count := uint64(16), uint64(e.Uint16(buf[10:]))
	if count == 0xFFFF {
		if len(buf) < 24 {
			return errors.New("freelist page too short")
		}
		count = e.Uint64(buf[16:])
		start = 24
	}
	if count > uint64(len(buf)-int(start))/8 {
		return fmt.Errorf("freelist page %d claims %d entries", id, count)
	}
	for i := uint64(0); i < count; i++ {
		if p := e.Uint64(buf[start+8*i:]); p < 2 || p >= w.hwm {
			return fmt.Errorf("freelist lists page %d outside the file", p)
		}
	}
	return nil
}

func (w *treeWalker) tree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return errors.New("tree deeper than any real file")
	}
	buf, err := w.page(id)
	if err != nil {
		return err
	}
	return w.node(buf, id, depth)
}

// node checks a branch or leaf page held in buf (a page read from the file
// or an inline bucket's page).
func (w *treeWalker) node(buf []byte, id uint64, depth int) error {
	e := binary.NativeEndian
	if len(buf) < 16 {
		return fmt.Errorf("page %d shorter than its header", id)
	}
	flags, count := e.Uint16(buf[8:]), int(e.Uint16(buf[10:]))
	if 16+count*elemSize > len(buf) {
		return fmt.Errorf("page %d claims %d elements, more than fit", id, count)
	}
	for i := range count {
		off := 16 + i*elemSize
		el := buf[off : off+elemSize]
		switch flags {
		case pageBranch:
			pos, ksize, child := uint64(e.Uint32(el)), uint64(e.Uint32(el[4:])), e.Uint64(el[8:])
			if uint64(off)+pos+ksize > uint64(len(buf)) {
				return fmt.Errorf("page %d element %d runs off the page", id, i)
			}
			if err := w.tree(child, depth+1); err != nil {
				return err
			}
		case pageLeaf:
			lflags, pos := e.Uint32(el), uint64(e.Uint32(el[4:]))
			ksize, vsize := uint64(e.Uint32(el[8:])), uint64(e.Uint32(el[12:]))
			end := uint64(off) + pos + ksize + vsize
			if end > uint64(len(buf)) {
				return fmt.Errorf("page %d element %d runs off the page", id, i)
			}
			if lflags&leafBucket == 0 {
				continue
			}
			val := buf[uint64(off)+pos+ksize : end]
			if len(val) < 16 {
				return fmt.Errorf("page %d element %d: bucket header too short", id, i)
			}
			if root := e.Uint64(val); root != 0 {
				if err := w.tree(root, depth+1); err != nil {
					return err
				}
			} else if depth >= maxTreeDepth {
				return errors.New("inline buckets nested deeper than any real file")
			} else if err := w.node(val[16:], id, depth+1); err != nil {
				return fmt.Errorf("inline bucket in page %d: %w", id, err)
			}
		default:
			return fmt.Errorf("page %d has type %#x where a branch or leaf belongs", id, flags)
		}
	}
	return nil
}
