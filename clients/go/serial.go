package ksps

import "sync"

// serialQueue runs functions one at a time, in the order they were pushed, on a goroutine that
// exists only while there is work. It keeps callbacks of one topic in order without letting a
// slow callback block the connection's read loop. The queue is unbounded: a callback slower than
// its topic's message rate grows memory, as the caller asked for every message.
type serialQueue struct {
	mu      sync.Mutex
	tasks   []func()
	running bool
}

// push schedules fn after every function pushed before it.
func (q *serialQueue) push(fn func()) {
	q.mu.Lock()
	q.tasks = append(q.tasks, fn)
	if q.running {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	go q.drain()
}

func (q *serialQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.tasks) == 0 {
			q.running = false
			q.tasks = nil
			q.mu.Unlock()
			return
		}
		fn := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.mu.Unlock()
		fn()
	}
}
