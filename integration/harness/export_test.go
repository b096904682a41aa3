package harness

// CanPinPorts exposes Choice.canPinPorts to the black-box tests.
func (c Choice) CanPinPorts() bool { return c.canPinPorts() }
