// Package serializer provides the serializers that bytes stores use to turn
// cached values into bytes, and looks them up by name for configuration.
//
// Every serializer implements [backend.Serializer]. [Default] is the one a
// bytes store recommends unless it is told otherwise.
//
//	r := region.New("users", region.WithSerializer(serializer.JSON))
package serializer
